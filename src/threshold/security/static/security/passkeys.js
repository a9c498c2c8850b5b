// Passkeys: add one, sign in with one (a button, or the browser's autofill), use one as the
// second step or to confirm it's you. Options come from the server in JSON blocks
// (json_script) or from allauth's JSON endpoint, and webauthn-json (allauth's static copy)
// converts them; nothing runs inline, so the Content-Security-Policy needs no exception.
(function () {
  "use strict";

  var webauthnJSON = window.webauthnJSON;

  function supported() {
    return Boolean(window.PublicKeyCredential && navigator.credentials && webauthnJSON);
  }

  function readJSON(id) {
    var element = id && document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function messageFor(root, error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "AbortError") {
      return root.dataset.passkeyCancelled || "The passkey request was cancelled or timed out.";
    }
    if (name === "InvalidStateError") {
      return root.dataset.passkeyDuplicate || "This passkey is already on your account.";
    }
    return root.dataset.passkeyFailed || "Your passkey didn't work. Try again.";
  }

  var errorBoxes = new WeakMap();

  function showError(root, anchor, text) {
    var box = errorBoxes.get(root) || root.querySelector("[data-passkey-error]");
    if (!box) {
      box = document.createElement("p");
      box.className = "alert alert--error";
      box.setAttribute("role", "alert");
      (anchor || root).insertAdjacentElement("afterend", box);
    }
    errorBoxes.set(root, box);
    box.textContent = text;
    box.hidden = false;
  }

  function clearError(root) {
    var box = errorBoxes.get(root);
    if (box) { box.hidden = true; }
  }

  function unsupported(root, button) {
    if (button) { button.disabled = true; }
    showError(root, button, root.dataset.passkeyUnsupported ||
      "This browser can't use passkeys. Try another browser, or sign in another way.");
  }

  function submitWith(form, credential) {
    form.querySelector("input[name=credential]").value = JSON.stringify(credential);
    form.submit();
  }

  // Add a passkey or security key: the checkbox decides a discoverable, person-verified
  // credential (a passkey) or a plain one (a security key as a second step).
  document.querySelectorAll("[data-passkey-create]").forEach(function (root) {
    var form = root.querySelector("form");
    var button = root.querySelector("[data-passkey-button]");
    if (!supported()) { unsupported(root, button); return; }
    button.addEventListener("click", async function () {
      clearError(root);
      var options = JSON.parse(JSON.stringify(readJSON(root.dataset.options).creation_options));
      var passwordless = form.querySelector("input[name=passwordless]");
      var selection = options.publicKey.authenticatorSelection = options.publicKey.authenticatorSelection || {};
      if (passwordless) {
        selection.residentKey = passwordless.checked ? "required" : "discouraged";
        selection.requireResidentKey = passwordless.checked;
        if (passwordless.checked) { selection.userVerification = "required"; }
      }
      button.disabled = true;
      try {
        submitWith(form, await webauthnJSON.create(options));
      } catch (error) {
        button.disabled = false;
        showError(root, button, messageFor(root, error));
      }
    });
  });

  // Use a passkey the server already named: the second step, and "confirm it's you".
  document.querySelectorAll("[data-passkey-use]").forEach(function (root) {
    var form = root.querySelector("form");
    var button = root.querySelector("[data-passkey-button]");
    if (!supported()) { unsupported(root, button); return; }
    button.addEventListener("click", async function (event) {
      event.preventDefault();
      clearError(root);
      button.disabled = true;
      try {
        submitWith(form, await webauthnJSON.get(readJSON(root.dataset.options).request_options));
      } catch (error) {
        button.disabled = false;
        showError(root, button, messageFor(root, error));
      }
    });
  });

  // Sign in with a passkey alone: the button asks for any passkey of this site; where the
  // browser supports it, the email field also offers passkeys in its autofill
  // (conditional mediation), so nobody has to know which to press.
  document.querySelectorAll("form[data-passkey-sign-in]").forEach(function (form) {
    var button = document.getElementById(form.dataset.button);
    if (!button) { return; }
    var root = form;
    if (!supported()) { unsupported(root, button); return; }
    var autofill = null; // {controller, settled}: the pending autofill request, if any
    var pressed = false;

    async function requestOptions() {
      var response = await fetch(form.dataset.optionsUrl, {
        method: "GET",
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      });
      if (!response.ok) { throw new Error("passkey options: HTTP " + response.status); }
      return (await response.json()).request_options;
    }

    button.addEventListener("click", async function (event) {
      event.preventDefault();
      pressed = true;
      clearError(root);
      button.disabled = true;
      try {
        if (autofill) {
          // One WebAuthn request at a time, and its challenge must not overwrite ours.
          autofill.controller.abort();
          await autofill.settled;
          autofill = null;
        }
        submitWith(form, await webauthnJSON.get(await requestOptions()));
      } catch (error) {
        button.disabled = false;
        showError(root, button, messageFor(root, error));
      }
    });

    var field = document.getElementById(form.dataset.autofill || "");
    var conditional = window.PublicKeyCredential.isConditionalMediationAvailable;
    if (!field || !conditional) { return; }
    conditional.call(window.PublicKeyCredential).then(function (available) {
      if (!available || pressed) { return; }
      field.setAttribute("autocomplete", "username webauthn");
      var controller = new AbortController();
      var settled = (async function () {
        try {
          var options = await requestOptions();
          if (controller.signal.aborted) { return; }
          var credential = await webauthnJSON.get(
            Object.assign({}, options, { mediation: "conditional", signal: controller.signal })
          );
          if (!controller.signal.aborted) { submitWith(form, credential); }
        } catch (error) {
          // Aborted for the button, or the person chose their password: nothing to say.
        }
      })();
      autofill = { controller: controller, settled: settled };
    }).catch(function () {});
  });
})();
