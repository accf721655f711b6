// Small progressive enhancements; every page works without them.
document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
// A step that signs or cannot be undone (delivery, acceptance, refusal) asks first: the form carries
// its question in data-confirm. Without scripts the form submits as before.
document.querySelectorAll("form[data-confirm]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });
});
