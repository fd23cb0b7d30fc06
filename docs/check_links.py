"""Check the docs' relative links: every link or image in README.md and docs/*.md that is not
a URL must name a file that exists, and its #anchor a heading of that file (GitHub's slugs).
`python docs/check_links.py` prints each broken link and exits 1 when there is one."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)|(?:src|href)=\"([^\"]+)\"")
CODE = re.compile(r"```.*?```", re.S)


def slugs(markdown: Path) -> set[str]:
    """The anchors GitHub gives the file's headings."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#+ (.+)$", CODE.sub("", markdown.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(f"{slug}-{count}" if count else slug)
    return found


def broken(markdown: Path) -> list[str]:
    problems = []
    for match in LINK.finditer(CODE.sub("", markdown.read_text())):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (markdown.parent / path).resolve() if path else markdown
        if not file.exists():
            problems.append(f"{markdown.relative_to(ROOT)}: {target}: no such file")
        elif anchor and (file.suffix != ".md" or anchor not in slugs(file)):
            problems.append(f"{markdown.relative_to(ROOT)}: {target}: no such heading")
    return problems


def main() -> int:
    pages = [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))]
    problems = [problem for page in pages for problem in broken(page)]
    print("\n".join(problems) or "Every relative link resolves.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
