/* Survey page: show the "what went wrong" questions only for a score in the negative band
   (CSAT 1-2, NPS 0-6, CES 5-7 by default: a high effort score is the bad one).
   Without this script they stay visible, so the page works without JavaScript. */
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary");
  if (summary) summary.focus();  // screen readers read the problems first
  var form = document.querySelector("form[data-negative-max]");
  var block = document.getElementById("negative");
  if (!form || !block) return;
  var negativeMin = parseInt(form.getAttribute("data-negative-min"), 10);
  var negativeMax = parseInt(form.getAttribute("data-negative-max"), 10);
  if (isNaN(negativeMin) || isNaN(negativeMax)) return;
  var controls = block.querySelectorAll("input, textarea, select");

  function update() {
    var checked = form.querySelector('input[name="score"]:checked');
    var score = checked === null ? NaN : parseInt(checked.value, 10);
    var show = score >= negativeMin && score <= negativeMax;
    block.hidden = !show;
    // Hidden answers are not sent: switching to a good score clears them.
    for (var i = 0; i < controls.length; i++) controls[i].disabled = !show;
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "score") update();
  });
  update();
})();
