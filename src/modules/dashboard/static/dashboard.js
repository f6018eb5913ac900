// The dashboard's one script: progressive enhancement only. Every page works without it
// (dialogs are rendered open by the server, forms post normally); with it, dialogs are modal
// and open in place, the key can be copied, and choices show only the fields they need.
"use strict";

function openModal(dialog) {
  if (dialog.open) dialog.close();
  dialog.showModal();
  const first = dialog.querySelector("input:not([type=hidden]):not([readonly]), select, textarea, button");
  if (first) first.focus();
}

// A dialog the server rendered open becomes modal (focus kept inside, Esc closes it).
for (const dialog of document.querySelectorAll("dialog[open]")) openModal(dialog);

// "Create" and the like open their dialog in place instead of loading the page again.
for (const link of document.querySelectorAll("a[data-dialog]")) {
  link.addEventListener("click", (event) => {
    const dialog = document.getElementById(link.dataset.dialog);
    if (!dialog) return;
    event.preventDefault();
    openModal(dialog);
  });
}

// Cancel, Done, ×: close the dialog; the address goes back to the list's.
for (const close of document.querySelectorAll("[data-close]")) {
  close.addEventListener("click", (event) => {
    const dialog = close.closest("dialog");
    if (!dialog) return;
    event.preventDefault();
    dialog.close();
  });
}
for (const dialog of document.querySelectorAll("dialog")) {
  dialog.addEventListener("close", () => {
    // Made modal again (openModal closes an open one first): not closed at all.
    if (dialog.open) return;
    const back = dialog.querySelector("[data-close]");
    if (back && location.search) history.replaceState(null, "", back.getAttribute("href"));
    // A key or link shown once is gone from the page once its dialog closes.
    if (dialog.classList.contains("reveal")) dialog.remove();
  });
}

// Copy the key (or link) shown once.
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copy);
    const status = button.closest("dialog")?.querySelector("[data-copy-status]");
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      if (status) status.textContent = "Copied to the clipboard.";
    } catch {
      const copied = document.execCommand && document.execCommand("copy");
      if (status) status.textContent = copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C) to copy.";
    }
  });
}

// A select that applies itself (environment, status filter): its Switch/Show button is not needed.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}
for (const button of document.querySelectorAll("[data-when-no-script]")) button.hidden = true;

// Account Type: Mapped to Identity only for a service account. Expiration: the date only for "On a date".
function toggle(form) {
  const type = form.querySelector("input[name=account_type]:checked");
  for (const part of form.querySelectorAll("[data-show-for]")) {
    part.hidden = !type || type.value !== part.dataset.showFor;
    for (const control of part.querySelectorAll("select, input")) control.disabled = part.hidden;
  }
  const expiration = form.querySelector("select[name=expiration]");
  for (const part of form.querySelectorAll("[data-show-for-expiration]")) {
    part.hidden = !expiration || expiration.value !== part.dataset.showForExpiration;
    for (const control of part.querySelectorAll("input")) {
      control.disabled = part.hidden;
      control.required = !part.hidden;
    }
  }
}
for (const form of document.querySelectorAll("form")) {
  if (!form.querySelector("[data-show-for], [data-show-for-expiration]")) continue;
  toggle(form);
  form.addEventListener("change", () => toggle(form));
}

// A filter panel folds away on a phone while no filter is in force (without the script it stays open).
if (matchMedia("(max-width: 760px)").matches) {
  for (const panel of document.querySelectorAll("details[data-fold-on-phone]")) panel.open = false;
}
