// Backorder's pages need only this much script: a link to another page of the app carries a
// fresh session token, so the page loads at once instead of through the bounce page. Without
// App Bridge (a page opened outside the admin), links work as plain links.
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
})();
