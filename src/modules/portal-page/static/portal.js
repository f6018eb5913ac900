// The customer portal page: one customer's details and usage, read with the portal session
// token from the link. Served under a strict Content-Security-Policy (this file, from this
// server, nothing inline); every value is written as text, never as markup.
"use strict";

(() => {
  const STORAGE_KEY = "tollgate.portal.token";
  const byId = (id) => document.getElementById(id);

  /**
   * The token from the link, taken out of the address at once so it stays in neither the
   * history nor a bookmark. It is kept for this tab only (sessionStorage), so a reload works.
   */
  function takeToken() {
    const params = new URLSearchParams(location.search);
    const fromLink = params.get("token");
    if (fromLink !== null) {
      params.delete("token");
      const rest = params.toString();
      history.replaceState(history.state, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
      if (fromLink) {
        remember(fromLink);
        return fromLink;
      }
    }
    try {
      return sessionStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  }

  function remember(token) {
    try {
      if (token) sessionStorage.setItem(STORAGE_KEY, token);
      else sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Storage off (private mode): the page still works until it is reloaded.
    }
  }

  class PortalError extends Error {
    constructor(status, message, retryAfter) {
      super(message);
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  async function api(path, token) {
    let response;
    try {
      response = await fetch(path, {
        headers: { "X-Session-Token": token },
        cache: "no-store",
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
    } catch {
      throw new PortalError(0, "");
    }
    if (response.ok) return response.json();
    let message = "";
    try {
      message = (await response.json()).error.message;
    } catch {
      // Not the API's envelope: a proxy's page, say. The status says enough.
    }
    throw new PortalError(response.status, message, response.headers.get("Retry-After"));
  }

  function setStatus(text) {
    byId("status").textContent = text;
  }

  function showNotice(title, text) {
    byId("account").hidden = true;
    setStatus("");
    byId("notice-title").textContent = title;
    byId("notice-text").textContent = text;
    byId("notice").hidden = false;
    document.title = `${title} · Customer portal`;
  }

  function showFailure(error) {
    if (error.status === 401) {
      remember(null);
      showNotice(
        "This portal link has expired",
        "Ask for a new one. For your security, a portal link works for a limited time only.",
      );
    } else if (error.status === 404) {
      showNotice("This account is no longer available", "Ask for a new portal link if you think this is a mistake.");
    } else if (error.status === 429) {
      const seconds = Number(error.retryAfter);
      const wait = seconds > 0 ? `in ${seconds} second${seconds === 1 ? "" : "s"}` : "in a moment";
      showNotice("Too many attempts", `Please reload this page ${wait}.`);
    } else if (error.status === 0) {
      showNotice("The server could not be reached", "Check your connection, then reload this page.");
    } else {
      showNotice("Something went wrong", error.message || "Please reload this page in a moment.");
    }
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const numberFormat = new Intl.NumberFormat();

  function addDetail(list, term, value) {
    if (!value) return;
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  /** A country code as its name in the reader's language ("FR": "France"), or the code itself. */
  function countryName(code) {
    if (!code) return "";
    try {
      return new Intl.DisplayNames(undefined, { type: "region" }).of(code) || code;
    } catch {
      return code;
    }
  }

  function addressOf(customer) {
    const cityLine = [customer.address_postal_code, customer.address_city].filter(Boolean).join(" ");
    const country = countryName(customer.address_country);
    return [customer.address_line1, customer.address_line2, cityLine, customer.address_state, country]
      .filter(Boolean)
      .join("\n");
  }

  function renderCustomer(customer) {
    const name = customer.name || customer.external_id;
    byId("customer-name").textContent = name;
    document.title = `${name} · Customer portal`;
    const details = byId("details");
    details.replaceChildren();
    addDetail(details, "Customer ID", customer.external_id);
    addDetail(details, "Email", customer.email);
    addDetail(details, "Address", addressOf(customer));
    addDetail(details, "Customer since", dateFormat.format(new Date(customer.created_at)));
  }

  function renderUsage(usage) {
    const start = dateFormat.format(new Date(usage.start_time));
    const end = dateFormat.format(new Date(usage.end_time));
    byId("usage-period").textContent = `Events from ${start} to ${end}`;
    const rows = [...usage.usage].sort((a, b) => b.count - a.count || a.event_name.localeCompare(b.event_name));
    const body = byId("usage-rows");
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = document.createElement("tr");
        const name = document.createElement("td");
        name.textContent = row.event_name;
        const count = document.createElement("td");
        count.className = "num";
        count.textContent = numberFormat.format(row.count);
        tr.append(name, count);
        return tr;
      }),
    );
    byId("usage-total").textContent = numberFormat.format(rows.reduce((sum, row) => sum + row.count, 0));
    byId("usage-table").hidden = rows.length === 0;
    byId("usage-empty").hidden = rows.length !== 0;
  }

  async function start() {
    const token = takeToken();
    if (!token) {
      showNotice(
        "No portal link",
        "This page shows your account when you open it from the portal link you were sent. Ask for a new one if you do not have it.",
      );
      return;
    }
    let customer;
    let usage;
    try {
      [customer, usage] = await Promise.all([
        api("/v1/customer/portal/info", token),
        api("/v1/customer/portal/usage", token),
      ]);
    } catch (error) {
      showFailure(error);
      return;
    }
    renderCustomer(customer);
    renderUsage(usage);
    setStatus("");
    byId("account").hidden = false;

    const refresh = byId("refresh");
    refresh.addEventListener("click", async () => {
      refresh.disabled = true;
      setStatus("Updating usage…");
      try {
        renderUsage(await api("/v1/customer/portal/usage", token));
        setStatus(`Usage updated at ${timeFormat.format(new Date())}`);
      } catch (error) {
        showFailure(error);
      } finally {
        refresh.disabled = false;
        refresh.focus();
      }
    });
  }

  start();
})();
