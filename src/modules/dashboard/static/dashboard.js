// The dashboard's one script: progressive enhancement only. Every page works without it
// (dialogs are rendered open by the server, forms post normally); with it, dialogs are modal
// and open in place, the key can be copied (and is not closed away uncopied without a
// question), and choices show only the fields and the roles they lead to.
"use strict";

function openModal(dialog) {
  if (dialog.open) dialog.close();
  dialog.showModal();
  // The first field to fill in. A confirmation has none (Archive, Revoke, a reset link): Cancel
  // takes the focus there, so an Enter or Space pressed on opening does not do what it confirms.
  const field = dialog.querySelector("input:not([type=hidden]):not([readonly]), select, textarea");
  const first = field || dialog.querySelector("form [data-close]") || dialog.querySelector("button");
  if (first) first.focus();
}

// A page that answers a form's POST (a refused form shown again) names its own address: put it
// in the address bar, so a reload reads the page instead of sending the form again.
const answered = document.querySelector("main[data-address]");
if (answered) history.replaceState(null, "", answered.dataset.address);

// A key shown once, not copied with its Copy button: closing it first asks "Have you copied
// it?" (Escape, ×, Done), inside the dialog. `released` once the answer is yes (or it was copied).
function asksBeforeClosing(dialog) {
  return !!dialog.querySelector("[data-confirm-close]") && dialog.dataset.released !== "yes";
}
function askBeforeClosing(dialog) {
  const ask = dialog.querySelector("[data-confirm-close]");
  ask.hidden = false;
  ask.querySelector("[data-confirm-back]").focus();
}
for (const dialog of document.querySelectorAll("dialog")) {
  const ask = dialog.querySelector("[data-confirm-close]");
  if (!ask) continue;
  ask.querySelector("[data-confirm-back]").addEventListener("click", () => {
    ask.hidden = true;
    const key = dialog.querySelector("input[readonly]");
    if (key) key.focus();
  });
  ask.querySelector("[data-confirm-discard]").addEventListener("click", () => {
    dialog.dataset.released = "yes";
    dialog.close();
  });
  // Escape: asks instead (Escape again goes back to the key). A browser may not let the page
  // stop an Escape (no click since the last one it stopped): the close handler then asks.
  dialog.addEventListener("cancel", (event) => {
    if (!asksBeforeClosing(dialog) || !event.cancelable) return;
    event.preventDefault();
    if (ask.hidden) askBeforeClosing(dialog);
    else ask.querySelector("[data-confirm-back]").click();
  });
  // Copied with Ctrl+C after the Copy button could not: copied all the same.
  dialog.addEventListener("copy", (event) => {
    if (event.target.matches && event.target.matches("input[readonly]")) dialog.dataset.released = "yes";
  });
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
    if (asksBeforeClosing(dialog)) askBeforeClosing(dialog);
    else dialog.close();
  });
}
for (const dialog of document.querySelectorAll("dialog")) {
  dialog.addEventListener("close", () => {
    // Made modal again (openModal closes an open one first): not closed at all.
    if (dialog.open) return;
    // Closed without the question (the browser lets a page that has had no click yet prevent
    // no Escape): open again, and ask.
    if (asksBeforeClosing(dialog)) {
      openModal(dialog);
      askBeforeClosing(dialog);
      return;
    }
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
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch {
      copied = !!(document.execCommand && document.execCommand("copy"));
    }
    if (status) status.textContent = copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C) to copy.";
    if (copied && button.closest("dialog")) button.closest("dialog").dataset.released = "yes";
  });
}

// A select that applies itself (environment, status filter): its Switch/Show button is not needed.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}
for (const button of document.querySelectorAll("[data-when-no-script]")) button.hidden = true;

// Account Type: Mapped to Identity only for a service account. Expiration: the date only for "On a date".
// Create API key: what the key can do, for the account the form now leads to (its panel).
function showGrants(form) {
  const panels = form.querySelectorAll("[data-grants-panel]");
  if (panels.length === 0) return;
  const type = form.querySelector("input[name=account_type]:checked");
  const identity = form.querySelector("select[name=service_account_id]");
  const chosen = type && type.value === "user" ? type : identity && identity.selectedOptions[0];
  const shown = chosen ? chosen.dataset.grants || "" : "";
  for (const panel of panels) panel.hidden = panel.dataset.grantsPanel !== shown;
}

function toggle(form) {
  showGrants(form);
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
