// The desk view: the list of desk calls follows the server's events (EventSource), and the
// forms of a card are sent in the background. The server renders every card (escaped); this
// script only swaps the rendered cards in, keeping a form the agent is filling in.
"use strict";

(() => {
  const list = document.getElementById("desk-calls");
  const empty = document.getElementById("no-calls");
  const state = document.getElementById("live-state");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return Array.from(template.content.querySelectorAll("article.card"));
  }

  // The live part of a card is replaced; its forms only when what they offer changed.
  function merge(fresh, old) {
    if (!old) {
      return fresh;
    }
    const oldActions = old.querySelector(".actions");
    const freshActions = fresh.querySelector(".actions");
    if (oldActions && freshActions && oldActions.dataset.state === freshActions.dataset.state) {
      freshActions.replaceWith(oldActions);
    }
    old.replaceWith(fresh);
    return fresh;
  }

  function showEmpty() {
    empty.hidden = list.querySelector("article.card") !== null;
  }

  function onSnapshot(event) {
    const cards = parse(JSON.parse(event.data).html);
    const kept = new Set(cards.map((card) => card.id));
    for (const card of Array.from(list.querySelectorAll("article.card"))) {
      if (!kept.has(card.id)) {
        card.remove();
      }
    }
    for (const card of cards) {
      merge(card, document.getElementById(card.id));
      list.appendChild(card);
    }
    showEmpty();
  }

  function onCall(event) {
    const data = JSON.parse(event.data);
    const [card] = parse(data.html);
    const old = document.getElementById(card.id);
    if (old) {
      merge(card, old);
    } else {
      list.prepend(card);
      card.classList.add("new");
    }
    reorder(data.order || []);
    showEmpty();
  }

  // The server's order: live calls by priority (tier, identified), then ended ones.
  function reorder(ids) {
    for (const id of ids) {
      const card = document.getElementById(id);
      if (card && card.parentNode === list) {
        list.appendChild(card);
      }
    }
  }

  async function submitInBackground(event) {
    const form = event.target;
    if (event.defaultPrevented || !form.closest || !form.closest("#desk-calls")) {
      return;
    }
    event.preventDefault();
    const message = form.querySelector(".form-message");
    message.textContent = "sending…";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: {"Accept": "application/json", "X-CSRF-Token": csrf},
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (response.ok) {
        message.textContent = "done";
        form.reset();
      } else {
        message.textContent = answer.error || "refused";
      }
    } catch (error) {
      message.textContent = "not sent: " + error;
    }
  }

  const source = new EventSource(list.dataset.events);
  source.addEventListener("snapshot", onSnapshot);
  source.addEventListener("call", onCall);
  source.addEventListener("open", () => { state.textContent = "live"; state.className = "live-state on"; });
  source.addEventListener("error", () => { state.textContent = "reconnecting…"; state.className = "live-state off"; });
  document.addEventListener("submit", submitInBackground);
})();
