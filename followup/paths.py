"""Where the code's files are: ROOT, the checkout (templates/, migrations/, followup/...)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
