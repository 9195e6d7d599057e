// Live notifications (001's Socket.IO: namespace /notifications, event notification:<user_id>).
// The socket authenticates with the portal's session cookie. While it is connected the navbar badge
// refreshes when a notification arrives; while it is not, the badge polls every 30 s (its hx-trigger).
(() => {
  const badge = document.getElementById("notification-badge");
  if (!badge || typeof io !== "function" || typeof htmx === "undefined") {
    return;
  }
  const live = (connected) => {
    window.mkopoNotificationsLive = connected;
    badge.dataset.live = connected ? "true" : "false";
  };
  live(false);
  const socket = io("/notifications");
  let connectedBefore = false;
  socket.on("connect", () => {
    live(true);
    if (connectedBefore) {  // back after a break: catch up on what arrived meanwhile
      htmx.trigger(document.body, "notifications-changed");
    }
    connectedBefore = true;
  });
  socket.on("disconnect", () => live(false));
  socket.on("connect_error", () => live(false));
  socket.on(`notification:${badge.dataset.userId}`, (notification) => {
    htmx.trigger(document.body, "notifications-changed", notification);
    htmx.trigger(document.body, "notification-received", notification);
  });
})();
