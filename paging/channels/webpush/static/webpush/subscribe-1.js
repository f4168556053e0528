/* /me/contact/, "Page me on this device": register the service worker, subscribe with
   the server's VAPID public key (data-vapid-key) and post the subscription's endpoint
   and keys with the form (a CSRF-protected POST to /me/contact/push/). */
(function () {
  "use strict";
  const form = document.getElementById("push-form");
  if (!form) {
    return;
  }
  const button = document.getElementById("push-subscribe");
  const state = document.getElementById("push-state");
  const say = (text) => {
    state.textContent = text;
  };

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(
      "This browser cannot receive push notifications (no Push API here). On an iPhone or " +
        "iPad, add this site to the home screen and open it from there."
    );
    return;
  }
  button.disabled = false;
  say("");

  // The contact method's value for a subscription (subscriptions.py, subscription_ref).
  async function refOf(endpoint) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    return `${new URL(endpoint).host.toLowerCase()}/${hex.slice(0, 20)}`;
  }

  // Say whether this browser is already one of my methods (and in what state).
  async function showCurrent() {
    const registration = await navigator.serviceWorker.getRegistration(form.dataset.worker);
    const subscription = registration && (await registration.pushManager.getSubscription());
    if (!subscription) {
      return;
    }
    const ref = await refOf(subscription.endpoint);
    const row = document.querySelector(`[data-push-ref="${CSS.escape(ref)}"]`);
    if (row) {
      say(`This browser is paged as ${row.dataset.pushName}: ${row.dataset.pushState}.`);
    }
  }
  showCurrent().catch(() => {});

  function keyBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  // Subscribing needs an active worker; a new registration is still installing.
  function activated(registration) {
    if (registration.active) {
      return Promise.resolve(registration);
    }
    const worker = registration.installing || registration.waiting;
    return new Promise((resolve, reject) => {
      worker.addEventListener("statechange", () => {
        if (worker.state === "activated") {
          resolve(registration);
        } else if (worker.state === "redundant") {
          reject(new Error("the service worker could not be installed"));
        }
      });
    });
  }

  async function subscribe(registration) {
    const options = { userVisibleOnly: true, applicationServerKey: keyBytes(form.dataset.vapidKey) };
    try {
      return await registration.pushManager.subscribe(options);
    } catch (err) {
      // Subscribed before under another server key: that subscription is dead, start over.
      const old = await registration.pushManager.getSubscription();
      if (!old) {
        throw err;
      }
      await old.unsubscribe();
      return registration.pushManager.subscribe(options);
    }
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say(
          "Notifications are blocked for this site: allow them in the browser's site " +
            "settings, then press the button again."
        );
        button.disabled = false;
        return;
      }
      say("Subscribing…");
      const registration = await activated(await navigator.serviceWorker.register(form.dataset.worker));
      const json = (await subscribe(registration)).toJSON();
      form.elements.endpoint.value = json.endpoint || "";
      form.elements.p256dh.value = (json.keys && json.keys.p256dh) || "";
      form.elements.auth.value = (json.keys && json.keys.auth) || "";
      say("Saving…");
      form.submit();
    } catch (err) {
      say(`Could not subscribe this browser: ${(err && err.message) || err}`);
      button.disabled = false;
    }
  });
})();
