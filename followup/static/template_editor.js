// The template editor's live preview: a moment after the lead stops typing, the form's parts
// go to the preview endpoint and its answer fills the preview. The email's HTML goes into a
// sandboxed iframe (no script runs there); everything else is set as text, never as HTML.
// The words it writes itself come translated in the form's data-text-* attributes.
(function () {
  "use strict";
  var form = document.getElementById("template-form");
  if (!form || !window.fetch) { return; }
  var token = form.querySelector('input[name="csrf_token"]').value;
  var timer = null;
  var latest = 0;

  function byId(id) { return document.getElementById(id); }

  // A data-text-* sentence of the form with its {name} placeholders filled.
  function text(name, values) {
    return form.getAttribute("data-text-" + name).replace(/\{(\w+)\}/g, function (whole, key) {
      return key in values ? String(values[key]) : whole;
    });
  }

  function parts() {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && (el.tagName === "TEXTAREA" || el.type === "text")) { body[el.name] = el.value; }
    });
    body.language = form.elements.preview_language.value;
    return body;
  }

  function showProblems(problems) {
    var box = byId("preview-problems");
    var list = box.querySelector("ul");
    list.textContent = "";
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      var target = item;
      if (problem.field) {
        target = document.createElement("a");
        target.href = "#" + problem.field;
        item.appendChild(target);
      }
      target.textContent = problem.message;
      list.appendChild(item);
    });
    box.hidden = problems.length === 0;
  }

  function segments(sms) {
    return text(sms.count === 1 ? "segment" : "segments", sms);
  }

  function show(data) {
    var email = data.email;
    var sms = data.sms;
    byId("preview-subject").textContent = email ? email.subject : "";
    byId("preview-html").srcdoc = email ? email.html : "";
    byId("preview-text").textContent = email ? email.text : "";
    byId("preview-sms").textContent = sms ? sms.body : "";
    byId("preview-segments").textContent = sms ? segments(sms) : "";
    byId("preview-whatsapp-sid").textContent = data.whatsapp ? data.whatsapp.content_sid : "";
    byId("preview-whatsapp").textContent =
      data.whatsapp ? JSON.stringify(data.whatsapp.variables, null, 1) : "";
    showProblems(data.problems || []);
  }

  function preview() {
    var ticket = ++latest;
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(parts())
    }).then(function (response) {
      if (response.ok || response.status === 422) {
        return response.json();
      }
      return { failed: text("unavailable", { status: response.status }) };
    }).then(function (data) {
      if (ticket !== latest) { return; }
      if (data.failed) { showProblems([{ message: data.failed }]); } else { show(data); }
    }).catch(function () {
      if (ticket === latest) { showProblems([{ message: text("no-answer", {}) }]); }
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(preview, 300);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
