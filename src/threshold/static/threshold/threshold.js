// Progressive enhancements only: every page works without this file.
(function () {
  "use strict";
  document.querySelectorAll('input[type="password"]').forEach(function (input) {
    var wrapper = document.createElement("span");
    wrapper.className = "password-field";
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--small password-toggle";
    var show = document.documentElement.dataset.showPassword || "Show";
    var hide = document.documentElement.dataset.hidePassword || "Hide";
    button.textContent = show;
    button.setAttribute("aria-label", show + " " + (input.labels && input.labels[0] ? input.labels[0].textContent.trim() : ""));
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", function () {
      var visible = input.type === "text";
      input.type = visible ? "password" : "text";
      button.textContent = visible ? show : hide;
      button.setAttribute("aria-pressed", visible ? "false" : "true");
    });
    wrapper.appendChild(button);
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.dataset.copy);
      if (target && navigator.clipboard) { navigator.clipboard.writeText(target.textContent.trim()); }
    });
  });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
