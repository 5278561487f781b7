// The poster's print button: shown only where scripts run (otherwise the browser's menu).
document.querySelectorAll(".venue-poster-print").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
