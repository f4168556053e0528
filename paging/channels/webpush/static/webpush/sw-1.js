/* The web-push service worker: shows a page as a notification and opens its signed
   acknowledge link (paging/channels/webpush/payload.py says what a push carries).
   Registered by subscribe-1.js from /me/contact/; no imports, no network of its own. */
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (err) {
    data = { body: event.data ? event.data.text() : "" };
  }
  const options = {
    body: data.body || "",
    data: { url: data.url || "/me/", ack_url: data.ack_url || "" },
    requireInteraction: Boolean(data.require_interaction),
    actions: data.ack_url ? [{ action: "acknowledge", title: "Acknowledge" }] : [],
  };
  if (data.tag) {
    // One notification per incident: a repeat page replaces it (and buzzes again).
    options.tag = data.tag;
    options.renotify = Boolean(data.renotify);
  }
  event.waitUntil(self.registration.showNotification(data.title || "On-call", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const url = event.action === "acknowledge" && data.ack_url ? data.ack_url : data.url;
  if (url) {
    event.waitUntil(self.clients.openWindow(url));
  }
});
