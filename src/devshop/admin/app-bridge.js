// A stand-in for Shopify's App Bridge script, for the demo and the browser tests: Shopify's
// own cannot load without the internet, and only runs inside Shopify's admin. It offers what
// the app uses of it, asking the dev shop's admin frame (`admin.js`) over postMessage:
// `shopify.idToken()`, `shopify.toast.show()`; a session token on every `fetch` to the app's
// own origin; the session-token bounce (`shopify-reload`); and the title bar and navigation
// (`ui-title-bar`, `s-app-nav`) shown in the admin frame.
"use strict";
(function () {
  const pending = new Map();
  let next = 0;

  function ask(type, payload) {
    return new Promise(function (resolve, reject) {
      next += 1;
      pending.set(next, { resolve: resolve, reject: reject });
      window.parent.postMessage({ source: "backorder-dev-app-bridge", id: next, type: type, payload: payload }, "*");
    });
  }

  async function go(href) {
    const url = new URL(href, window.location.href);
    if (url.origin !== window.location.origin) {
      return;
    }
    url.searchParams.set("id_token", await ask("id-token"));
    window.location.replace(url.toString());
  }

  window.addEventListener("message", function (event) {
    const m = event.data || {};
    if (event.source !== window.parent || m.source !== "backorder-dev-admin") {
      return;
    }
    if (m.type === "navigate") {
      go(m.href);
      return;
    }
    const waiting = pending.get(m.id);
    if (waiting) {
      pending.delete(m.id);
      if (m.error) {
        waiting.reject(new Error(m.error));
      } else {
        waiting.resolve(m.value);
      }
    }
  });

  window.shopify = {
    idToken: function () { return ask("id-token"); },
    toast: {
      show: function (message, options) {
        const o = options || {};
        return ask("toast", { message: String(message), isError: Boolean(o.isError), duration: o.duration });
      },
    },
  };

  // App Bridge adds a fresh session token to requests to the app's own origin.
  const plainFetch = window.fetch.bind(window);
  window.fetch = async function (input, init) {
    const request = new Request(input, init);
    if (new URL(request.url).origin !== window.location.origin) {
      return plainFetch(request);
    }
    const headers = new Headers(request.headers);
    headers.set("Authorization", "Bearer " + (await ask("id-token")));
    return plainFetch(new Request(request, { headers: headers }));
  };

  const reload = new URLSearchParams(window.location.search).get("shopify-reload");
  if (reload) {
    go(reload);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const bar = document.querySelector("ui-title-bar");
    if (bar) {
      ask("title", { title: bar.getAttribute("title") || "" });
    }
    const links = Array.from(document.querySelectorAll("s-app-nav s-link")).map(function (link) {
      const href = link.getAttribute("href");
      return { href: href, label: link.textContent.trim(), current: new URL(href, window.location.href).pathname === window.location.pathname };
    });
    if (links.length) {
      ask("nav", { links: links });
    }
  });
})();
