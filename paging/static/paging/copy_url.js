// Select an inbound URL on click, ready to copy (a file: the CSP allows no inline handlers).
document.addEventListener("click", (event) => {
  if (event.target.matches("input.oncall-copy")) {
    event.target.select();
  }
});
