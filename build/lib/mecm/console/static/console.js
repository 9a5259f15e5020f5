// mecm console: the little script the pages need (loaded from this file: the CSP allows no inline script).
// A form with data-confirm asks before it is sent (archiving a campaign, revoking a key: no undo).
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
