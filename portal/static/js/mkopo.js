// After HTMX swaps a form back with errors, move focus (and the screen) to the first invalid field.
// afterSettle, not afterSwap: an outerHTML swap has replaced the element the event names.
document.addEventListener("htmx:afterSettle", () => {
  const invalid = document.querySelector('form [aria-invalid="true"]');
  if (invalid) {
    invalid.focus();
  }
});

// The queue's inline panel: "Close" empties it; a field visit records where the agent stands,
// when the browser may tell (the form is saved without a location otherwise).
document.addEventListener("click", (event) => {
  const close = event.target.closest("[data-close-panel]");
  if (close) {
    close.closest(".queue-panel").remove();
  }
});

function locate(form) {
  const kind = form.querySelector('[name="kind"]');
  if (!kind || kind.value !== "field" || !navigator.geolocation || form.dataset.located) {
    return;
  }
  form.dataset.located = "1";
  navigator.geolocation.getCurrentPosition((position) => {
    form.querySelector('[name="latitude"]').value = position.coords.latitude.toFixed(6);
    form.querySelector('[name="longitude"]').value = position.coords.longitude.toFixed(6);
  }, () => {}, { timeout: 10000, maximumAge: 300000 });
}

document.addEventListener("htmx:afterSettle", () => {
  document.querySelectorAll("form[data-geolocate]").forEach(locate);
});
document.addEventListener("change", (event) => {
  if (event.target.matches('form[data-geolocate] [name="kind"]')) {
    locate(event.target.form);
  }
});
