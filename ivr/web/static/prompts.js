// The prompts page: ▶ links play in the page's one player instead of opening the file.
"use strict";

(() => {
  const player = document.getElementById("player");
  document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest("a.play") : null;
    if (!link) {
      return;
    }
    event.preventDefault();
    player.src = link.href;
    player.play();
  });
})();
