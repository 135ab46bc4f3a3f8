// The dev shop's admin frame: it embeds the app and answers its App Bridge stand-in
// (`app-bridge.js`) over postMessage, as Shopify's admin answers App Bridge: session tokens
// (minted here by the dev shop, which knows the app's secret), toasts, the title and the
// navigation. Tokens go to the app's origin only.
"use strict";
(function () {
  const frame = document.getElementById("app");
  const appOrigin = new URL(frame.src).origin;
  const shop = document.body.dataset.shop;
  const nav = document.getElementById("nav");
  const toast = document.getElementById("toast");
  let toastTimer = 0;

  async function sessionToken() {
    const response = await fetch("/admin/session-token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ shop: shop }),
    });
    if (!response.ok) {
      throw new Error("the dev shop minted no session token (HTTP " + response.status + ")");
    }
    return (await response.json()).token;
  }

  function send(message) {
    frame.contentWindow.postMessage(Object.assign({ source: "backorder-dev-admin" }, message), appOrigin);
  }

  function showToast(payload) {
    toast.textContent = payload.message;
    toast.classList.toggle("error", Boolean(payload.isError));
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.hidden = true; }, payload.duration || 5000);
  }

  function showNav(links) {
    nav.replaceChildren.apply(nav, links.map(function (link) {
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.label;
      if (link.current) {
        a.setAttribute("aria-current", "page");
      }
      a.addEventListener("click", function (event) {
        event.preventDefault();
        send({ type: "navigate", href: link.href });
      });
      return a;
    }));
  }

  window.addEventListener("message", async function (event) {
    const m = event.data || {};
    if (event.source !== frame.contentWindow || event.origin !== appOrigin || m.source !== "backorder-dev-app-bridge") {
      return;
    }
    try {
      let value = null;
      if (m.type === "id-token") {
        value = await sessionToken();
      } else if (m.type === "toast") {
        showToast(m.payload);
      } else if (m.type === "title") {
        document.getElementById("title").textContent = m.payload.title;
      } else if (m.type === "nav") {
        showNav(m.payload.links);
      }
      send({ id: m.id, value: value });
    } catch (e) {
      send({ id: m.id, error: String(e) });
    }
  });
})();
