// Declarations: catalog code search on the form, adding lines, polling a background import.
(function () {
  var form = document.getElementById("declaration-form");
  if (form) {
    var options = document.getElementById("code-options");
    var timer = null;
    var search = function (query) {
      var url = form.dataset.codesUrl + "?stream=" + encodeURIComponent(form.dataset.stream) +
        "&period=" + encodeURIComponent(form.dataset.period) + "&q=" + encodeURIComponent(query);
      fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
        options.innerHTML = "";
        data.results.forEach(function (e) {
          var o = document.createElement("option");
          o.value = e.code;
          o.label = e.code + " " + e.name;
          o.textContent = e.name;
          options.appendChild(o);
        });
      });
    };
    form.addEventListener("input", function (event) {
      if (!event.target.classList.contains("code-input")) { return; }
      clearTimeout(timer);
      var value = event.target.value;
      timer = setTimeout(function () { search(value); }, 200);
    });
    search("");
    var add = document.getElementById("add-line");
    add.addEventListener("click", function () {
      var count = document.getElementById("line-count");
      var rows = form.querySelectorAll("tr.line-row");
      var last = rows[rows.length - 1];
      var copy = last.cloneNode(true);
      var index = parseInt(count.value, 10);
      copy.querySelectorAll("input, select").forEach(function (input) {
        input.name = input.name.replace(/^lines-\d+-/, "lines-" + index + "-");
        if (input.tagName === "INPUT") { input.value = ""; }
      });
      last.parentNode.appendChild(copy);
      count.value = index + 1;
    });
  }
  var progress = document.getElementById("job-progress");
  if (progress) {
    var poll = function () {
      fetch(progress.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
        document.getElementById("progress-bar").value = data.percent;
        document.getElementById("progress-text").textContent = data.percent + "% · " + data.phase;
        if (data.status === "done" || data.status === "failed") { window.location.reload(); }
        else { setTimeout(poll, 1000); }
      });
    };
    setTimeout(poll, 1000);
  }
})();
