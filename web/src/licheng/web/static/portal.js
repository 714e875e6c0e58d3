// Licheng portal: small progressive enhancements, no build step.
// 1. htmx requests carry the session's CSRF token.
// 2. File inputs in forms marked data-upload show a progress bar while the file is sent.
// 3. Checkbox groups marked data-limit show a live "已勾選 X / N" counter.
document.addEventListener("DOMContentLoaded", function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.XMLHttpRequest || !window.FormData) { return; }
      event.preventDefault();
      var bar = form.querySelector("progress");
      var note = form.querySelector("[data-upload-status]");
      var request = new XMLHttpRequest();
      request.open(form.method || "POST", form.action);
      request.upload.addEventListener("progress", function (e) {
        if (bar && e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; }
        if (note && e.lengthComputable) {
          note.textContent = "上傳中 " + Math.round((e.loaded / e.total) * 100) + "%";
        }
      });
      request.addEventListener("load", function () {
        if (request.responseURL && request.status < 400) {
          window.location.assign(request.responseURL);
        } else {
          document.open(); document.write(request.responseText); document.close();
        }
      });
      request.addEventListener("error", function () {
        if (note) { note.textContent = "上傳失敗，請檢查網路後再試一次"; }
      });
      request.send(new FormData(form));
    });
  });

  document.querySelectorAll("[data-limit]").forEach(function (group) {
    var limit = parseInt(group.getAttribute("data-limit"), 10);
    var counter = group.querySelector("[data-counter]");
    var boxes = group.querySelectorAll('input[type="checkbox"]');
    function update() {
      var chosen = 0;
      boxes.forEach(function (box) { if (box.checked) { chosen += 1; } });
      if (counter) {
        counter.textContent = "已勾選 " + chosen + " 筆 / 最多 " + limit + " 筆";
        counter.classList.toggle("error", chosen > limit);
      }
      boxes.forEach(function (box) { box.disabled = !box.checked && chosen >= limit; });
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  });
});
// 4. A search box marked data-filter-list="<list id>" hides the list's items not matching it.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-filter-list]").forEach(function (box) {
    var list = document.getElementById(box.getAttribute("data-filter-list"));
    if (!list) { return; }
    box.addEventListener("input", function () {
      var wanted = box.value.trim().toLowerCase();
      list.querySelectorAll("li").forEach(function (item) {
        item.hidden = wanted !== "" && item.textContent.toLowerCase().indexOf(wanted) === -1;
      });
    });
  });
});
