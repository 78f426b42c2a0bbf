// kae-zoo results site: sort a leaderboard by clicking a column header, filter its rows by family name.
// The pages are complete without this script; it only reorders and hides rows.
"use strict";

function cellValue(row, index, kind) {
  const cell = row.children[index];
  const raw = cell ? cell.getAttribute("data-value") : null;
  if (kind === "number") {
    const number = raw === null ? NaN : parseFloat(raw);
    return Number.isFinite(number) ? number : null;
  }
  return raw === null ? "" : raw.toLowerCase();
}

function sortTable(table, header) {
  const headers = Array.from(header.parentElement.children);
  const index = headers.indexOf(header);
  const kind = header.getAttribute("data-sort");
  const current = header.getAttribute("aria-sort");
  // The first click puts the best first (descending for a higher-is-better column); the next one reverses.
  const ascending = current === "none" ? header.getAttribute("data-direction") !== "higher" : current !== "ascending";
  headers.forEach((other) => other.setAttribute("aria-sort", "none"));
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((first, second) => {
    const a = cellValue(first, index, kind);
    const b = cellValue(second, index, kind);
    if (a === null && b === null) return 0;
    if (a === null) return 1;  // missing values last, whichever the direction
    if (b === null) return -1;
    const order = a < b ? -1 : a > b ? 1 : 0;
    return ascending ? order : -order;
  });
  rows.forEach((row) => body.appendChild(row));
}

function filterTable(table, text) {
  const needle = text.trim().toLowerCase();
  let shown = 0;
  Array.from(table.tBodies[0].rows).forEach((row) => {
    const family = (row.getAttribute("data-family") || "").toLowerCase();
    row.hidden = needle !== "" && !family.includes(needle);
    shown += row.hidden ? 0 : 1;
  });
  table.closest("section").querySelector(".no-match").hidden = shown > 0;
}

document.querySelectorAll("table.sortable").forEach((table) => {
  table.querySelectorAll("thead th[data-sort]").forEach((header) => {
    // the whole header cell sorts (its button makes it reachable by keyboard; a click on it reaches the cell)
    header.addEventListener("click", () => sortTable(table, header));
  });
});
document.querySelectorAll("input[data-filter]").forEach((input) => {
  const table = document.getElementById(input.getAttribute("data-filter"));
  input.closest(".filter").hidden = false;
  input.addEventListener("input", () => filterTable(table, input.value));
});
