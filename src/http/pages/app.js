// Backorder's pages need only this much script:
// - a link to another page of the app carries a fresh session token, so the page loads at once
//   instead of through the bounce page (without App Bridge, links work as plain links);
// - a form marked `api-form` is sent to the JSON API with `fetch` (App Bridge adds the session
//   token), and an error the API names a field for is shown next to that field.
"use strict";
(function () {
  document.addEventListener("click", async function (event) {
    const link = event.target.closest("a[href^='/app']");
    const plain = event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey;
    if (!link || plain || event.defaultPrevented || !window.shopify) {
      return;
    }
    event.preventDefault();
    const url = new URL(link.getAttribute("href"), window.location.href);
    try {
      url.searchParams.set("id_token", await window.shopify.idToken());
    } catch (e) {
      // No token now: the bounce page gets one.
    }
    window.location.assign(url.toString());
  });

  // A field's value as the API reads it (`data-type`): text by default.
  function valueOf(field) {
    const raw = (field.value || "").trim();
    switch (field.dataset.type) {
      case "id-set": {
        // Ticked ids; all of them ticked is null ("every one, new ones too").
        const boxes = Array.from(field.querySelectorAll("input[type=checkbox]"));
        if (boxes.every(function (b) { return b.checked; })) {
          return null;
        }
        return boxes.filter(function (b) { return b.checked; }).map(function (b) { return Number(b.value); });
      }
      case "bool":
        return field.checked;
      case "number":
        return raw === "" || isNaN(Number(raw)) ? raw : Number(raw);
      case "number-or-null":
        return raw === "" ? null : isNaN(Number(raw)) ? raw : Number(raw);
      case "text-or-null":
        return raw === "" ? null : raw;
      case "null":
        return null;
      case "choice":
        return field.checked ? field.dataset.on : field.dataset.off;
      case "batches":
        // One `units date` per line; what does not read as a number goes as written, for the
        // API to name.
        // The platform's batches go with them, matched by id: only the merchant's date is read.
        return raw.split("\n").map(function (l) { return l.trim(); }).filter(Boolean).map(function (line) {
          const [qty, eta] = line.split(/\s+/);
          return { qty: qty !== undefined && !isNaN(Number(qty)) ? Number(qty) : qty, eta: eta || "" };
        }).concat(Array.from(field.form.querySelectorAll("[data-platform-batch]")).map(function (input) {
          return { id: input.dataset.platformBatch, eta_override: input.value || null };
        }));
      case "map": {
        // One `key = number` per line; a value that is not a number goes as written, for the
        // API to name.
        const map = {};
        raw.split("\n").map(function (l) { return l.trim(); }).filter(Boolean).forEach(function (line) {
          const at = line.lastIndexOf("=");
          const key = (at < 0 ? line : line.slice(0, at)).trim();
          const value = at < 0 ? "" : line.slice(at + 1).trim();
          map[key] = value !== "" && !isNaN(Number(value)) ? Number(value) : value;
        });
        return map;
      }
      default:
        return field.value;
    }
  }

  // The form's fields as one JSON object; a name with dots is a path (`tags.ready`).
  function bodyOf(form) {
    const body = {};
    form.querySelectorAll("[name]").forEach(function (field) {
      const path = field.name.split(".");
      let at = body;
      path.slice(0, -1).forEach(function (part) {
        at[part] = at[part] || {};
        at = at[part];
      });
      at[path[path.length - 1]] = valueOf(field);
    });
    return body;
  }

  // The field an API error names: the one of that name, or the closest one above it
  // (`priority_tags.VIP` is the `priority_tags` field's).
  function fieldFor(form, name) {
    // `supply[1].eta` is the `supply` field's (its second line).
    const parts = String(name || "").replace(/\[\d+\]/g, "").split(".");
    for (let n = parts.length; n > 0; n -= 1) {
      const field = form.querySelector("[name='" + CSS.escape(parts.slice(0, n).join(".")) + "']");
      if (field) {
        return field;
      }
    }
    return null;
  }

  function clearErrors(form) {
    form.querySelectorAll("[aria-invalid]").forEach(function (f) { f.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".field-error, .form-error").forEach(function (e) { e.hidden = true; e.textContent = ""; });
  }

  // `focus` false: shown while the merchant types elsewhere, so the caret stays where it is.
  function showError(form, name, message, focus) {
    const field = fieldFor(form, name);
    const line = /\[(\d+)\]/.exec(String(name || ""));
    if (line) {
      message = "Line " + (Number(line[1]) + 1) + ": " + message;
    }
    const note = field && field.closest(".field") && field.closest(".field").querySelector(".field-error");
    if (note) {
      field.setAttribute("aria-invalid", "true");
      note.textContent = message;
      note.hidden = false;
      if (focus !== false) {
        field.focus();
      }
      return;
    }
    const banner = form.querySelector(".form-error");
    banner.textContent = message;
    banner.hidden = false;
  }

  // What a receipt would fill, from the API's preview; nothing changes.
  async function preview(form) {
    const input = form.querySelector("[name=units]");
    const note = form.querySelector(".field-error");
    const out = form.querySelector(".preview-result");
    input.removeAttribute("aria-invalid");
    note.hidden = true;
    const url = form.dataset.action + "?units=" + encodeURIComponent(input.value.trim());
    const response = await fetch(url);
    const answer = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      input.setAttribute("aria-invalid", "true");
      note.textContent = answer.error || "No preview (HTTP " + response.status + ").";
      note.hidden = false;
      return;
    }
    const covered = answer.fills.filter(function (f) { return f.covered; }).length;
    const summary = document.createElement("p");
    const units = function (n, one, many) { return n + (n === 1 ? one : many); };
    summary.textContent = "If " + answer.units + " arrive: " + units(covered, " order line is", " order lines are") +
      " filled completely; " + units(answer.still_backordered, " unit still waits", " units still wait") + ", " +
      units(answer.left_in_stock, " goes", " go") + " to stock.";
    const list = document.createElement("ul");
    list.className = "list";
    answer.fills.forEach(function (f) {
      const item = document.createElement("li");
      item.textContent = (f.order_name || "Order " + f.order_id) + ": " + f.units + " unit" + (f.units === 1 ? "" : "s") +
        (f.covered ? ", filled" : ", part of what it waits for");
      list.appendChild(item);
    });
    out.replaceChildren(summary, list);
  }

  // A search of the app's own pages: the words go in the URL, with a fresh session token.
  async function searchPage(form) {
    const url = new URL(form.getAttribute("action"), window.location.href);
    new FormData(form).forEach(function (value, key) { url.searchParams.set(key, value); });
    if (window.shopify) {
      url.searchParams.set("id_token", await window.shopify.idToken());
    }
    window.location.assign(url.toString());
  }

  // Enrols the ticked variants as one job, and shows its progress until it ends.
  async function enrol(form) {
    const ids = Array.from(form.querySelectorAll("input[name=variant]:checked")).map(function (c) { return Number(c.value); });
    const banner = form.querySelector(".form-error");
    const status = form.querySelector(".enrol-status");
    const bar = form.querySelector(".enrol-progress");
    banner.hidden = true;
    if (!ids.length) {
      banner.textContent = "Tick the variants to enrol first.";
      banner.hidden = false;
      return;
    }
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    const response = await fetch(form.dataset.action, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ variant_ids: ids, enabled: true }),
    });
    const answer = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      banner.textContent = answer.error || "Not enrolled (HTTP " + response.status + "). Try again.";
      banner.hidden = false;
      button.disabled = false;
      return;
    }
    bar.hidden = false;
    for (;;) {
      const job = await (await fetch("/api/jobs/" + answer.job)).json();
      bar.max = Math.max(job.total || 0, 1);
      bar.value = job.done || 0;
      status.textContent = "Enrolled " + (job.done || 0) + " of " + (job.total || ids.length);
      if (job.state !== "running") {
        status.textContent = job.state === "done"
          ? "Enrolled " + job.done + " of " + job.total + "."
          : "Stopped: " + (job.errors || []).join("; ");
        if (window.shopify) {
          window.shopify.toast.show(job.state === "done" ? "Variants enrolled" : "Enrolment stopped", { isError: job.state !== "done" });
        }
        button.disabled = false;
        return;
      }
      await new Promise(function (resolve) { setTimeout(resolve, 500); });
    }
  }

  // The emails page: the template being edited, rendered by the API with a real waiting order
  // as the merchant types (a moment after the last key), and sent to the merchant on request.
  function templateOf(form) {
    const kind = form.dataset.kind;
    return (bodyOf(form).templates || {})[kind] || {};
  }

  async function templateCall(form, what) {
    return fetch("/api/templates/" + encodeURIComponent(form.dataset.kind) + "/" + what, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(templateOf(form)),
    });
  }

  async function renderPreview(form) {
    const response = await templateCall(form, "preview");
    const answer = await response.json().catch(function () { return {}; });
    clearErrors(form);
    if (!response.ok) {
      showError(form, answer.field, answer.error || "No preview (HTTP " + response.status + ").", false);
      return;
    }
    form.querySelector(".template-preview-subject").textContent = answer.subject;
    form.querySelector(".template-preview").srcdoc = answer.html;
    form.querySelector(".template-preview-order").textContent = answer.sample
      ? "Rendered with a sample order: no order of your shop waits now."
      : "Rendered with order " + answer.order_name + ", which waits now.";
  }

  // A variant's plan: what a change of its batches, lead time or handling days would do to the
  // dates of the lines waiting now, shown as it is typed, before anything is saved.
  async function planEffect(form) {
    const out = form.querySelector(".plan-effect");
    const response = await fetch(form.dataset.planPreview, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(bodyOf(form)),
    });
    const answer = await response.json().catch(function () { return {}; });
    clearErrors(form);
    if (!response.ok) {
      out.replaceChildren();
      showError(form, answer.field, answer.error || "No preview (HTTP " + response.status + ").", false);
      return;
    }
    const summary = document.createElement("p");
    const lines = function (n) { return n + (n === 1 ? " waiting line" : " waiting lines"); };
    summary.textContent = answer.earlier + answer.later === 0
      ? "If saved: no waiting line's date changes."
      : "If saved: " + lines(answer.later) + " would get a later date, " + lines(answer.earlier) + " an earlier one" +
        (answer.later > 0 ? " (their customers are told when it moves by more than your threshold)." : ".");
    const list = document.createElement("ul");
    list.className = "list";
    answer.changes.forEach(function (c) {
      const item = document.createElement("li");
      item.textContent = (c.order_name || "Order " + c.order_id) + ": " + (c.from || "no date") + " → " + (c.to || "no date");
      list.appendChild(item);
    });
    out.replaceChildren(summary, list);
  }

  // Optional scopes (SPEC 10.2: transfers and shipments; 10.3: discounts): asked of the merchant
  // through App Bridge's scopes API; once granted, the next read of the platform uses them. The
  // button says what each answer means (`data-granted`, `data-refused`).
  document.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-grant-scopes]");
    if (!button) {
      return;
    }
    const out = button.closest("section").querySelector("[data-grant-result]");
    const scopes = button.dataset.grantScopes.split(",");
    if (!(window.shopify && shopify.scopes && shopify.scopes.request)) {
      out.textContent = "Open the app from your Shopify admin to grant access.";
      return;
    }
    button.disabled = true;
    try {
      const answer = await shopify.scopes.request(scopes);
      out.textContent = answer && answer.result === "granted-all" ? button.dataset.granted : button.dataset.refused;
    } catch (e) {
      out.textContent = button.dataset.refused;
    } finally {
      button.disabled = false;
    }
  });

  // The catalogue's results: what enrolling a variant would do to the orders already open (SPEC
  // 9), read from Shopify on request; nothing is enrolled.
  document.addEventListener("click", async function (event) {
    const button = event.target.closest("button.onboarding-preview");
    if (!button) {
      return;
    }
    const out = button.parentElement.querySelector(".onboarding-result");
    button.disabled = true;
    out.textContent = "Reading the open orders…";
    try {
      const response = await fetch(button.dataset.url);
      const answer = await response.json().catch(function () { return {}; });
      if (!response.ok) {
        out.textContent = answer.error || "Not read (HTTP " + response.status + "). Try again.";
        return;
      }
      const waiting = answer.orders.length;
      const emailed = answer.orders.filter(function (o) { return o.email; }).length;
      out.textContent = answer.open_orders === 0
        ? "No open order holds it: nothing changes for anyone."
        : answer.open_orders + " open order" + (answer.open_orders === 1 ? "" : "s") + "; " + waiting +
          " would wait (" + answer.backordered_units + " units), tagged and held; " + emailed + " emailed.";
    } catch (e) {
      out.textContent = "Not read: the app could not be reached. Try again.";
    } finally {
      button.disabled = false;
    }
  });

  document.querySelectorAll("form[data-plan-preview]").forEach(function (form) {
    let timer = null;
    form.addEventListener("input", function (event) {
      if (!/^(supply|lead_time_days|handling_days)$/.test(event.target.name || "")) {
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(function () { planEffect(form); }, 500);
    });
  });

  document.querySelectorAll("form.template-form").forEach(function (form) {
    let timer = null;
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { renderPreview(form); }, 400);
    });
    form.querySelector(".template-test").addEventListener("click", async function (event) {
      const button = event.currentTarget;
      const status = form.querySelector(".template-test-status");
      button.disabled = true;
      status.textContent = "Sending…";
      clearErrors(form);
      try {
        const response = await templateCall(form, "test");
        const answer = await response.json().catch(function () { return {}; });
        if (response.ok) {
          status.textContent = "Sent to " + answer.sent_to + ".";
        } else {
          status.textContent = "";
          showError(form, answer.field, answer.error || "Not sent (HTTP " + response.status + "). Try again.");
        }
      } catch (e) {
        status.textContent = "Not sent: the app could not be reached. Try again.";
      } finally {
        button.disabled = false;
      }
    });
    renderPreview(form);
  });

  document.addEventListener("submit", async function (event) {
    if (event.target.closest("form.page-search")) {
      event.preventDefault();
      searchPage(event.target.closest("form.page-search"));
      return;
    }
    if (event.target.closest("form.enrol-form")) {
      event.preventDefault();
      enrol(event.target.closest("form.enrol-form"));
      return;
    }
    const previewForm = event.target.closest("form.preview-form");
    if (previewForm) {
      event.preventDefault();
      preview(previewForm);
      return;
    }
    const form = event.target.closest("form.api-form");
    if (!form) {
      return;
    }
    event.preventDefault();
    clearErrors(form);
    // A form that undoes something asks for a tick first (a confirm() dialog cannot show in
    // the admin's frame).
    const confirmation = form.querySelector("[data-confirm]");
    if (confirmation && !confirmation.checked) {
      const note = confirmation.closest(".field").querySelector(".field-error");
      confirmation.setAttribute("aria-invalid", "true");
      note.textContent = "Tick this first.";
      note.hidden = false;
      confirmation.focus();
      return;
    }
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(form.dataset.action, form.dataset.method === "DELETE"
        ? { method: "DELETE" }
        : { method: form.dataset.method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(bodyOf(form)) });
      const answer = await response.json().catch(function () { return {}; });
      if (response.ok) {
        if (window.shopify) {
          window.shopify.toast.show(form.dataset.saved || "Saved");
        }
        form.dispatchEvent(new CustomEvent("api-saved", { bubbles: true, detail: answer }));
        if (form.dataset.reload) {
          // What the change moved (a queue) is shown again, with a fresh session token.
          const url = new URL(window.location.href);
          if (window.shopify) {
            url.searchParams.set("id_token", await window.shopify.idToken());
          }
          url.hash = form.dataset.reload;
          if (url.href.split("#")[0] === window.location.href.split("#")[0]) {
            window.location.reload();
          } else {
            window.location.assign(url.toString());
          }
          return;
        }
        if (form.dataset.done) {
          // A one-time action (putting a dead letter back): the form becomes what it did.
          const done = document.createElement("span");
          done.className = "badge badge-success";
          done.textContent = form.dataset.done;
          form.replaceChildren(done);
          return;
        }
      } else {
        showError(form, answer.field, answer.error || "Not saved (HTTP " + response.status + "). Try again.");
      }
    } catch (e) {
      showError(form, null, "Not saved: the app could not be reached. Try again.");
    } finally {
      button.disabled = false;
    }
  });
})();
