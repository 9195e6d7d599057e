// After HTMX swaps a form back with errors, move focus (and the screen) to the first invalid field.
// afterSettle, not afterSwap: an outerHTML swap has replaced the element the event names.
document.addEventListener("htmx:afterSettle", () => {
  const invalid = document.querySelector('form [aria-invalid="true"]');
  if (invalid) {
    invalid.focus();
  }
});
