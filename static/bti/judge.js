/* Judge page: rate with buttons or the keys 1-5; save at once; keep unsent ratings and retry.
 *
 * Every rating goes into a queue in localStorage first (one entry per item: a newer score for the
 * same item replaces an unsent older one), then the queue is sent. A network error or a 5xx keeps
 * the entry and retries with backoff (1 s, 2 s, 4 s … 30 s) and at once on the browser's "online"
 * event; the queue survives reloads and is sent from any judge page. A 4xx answer (round closed,
 * bad score) is shown and the entry dropped. Seconds on task run from page load to the click.
 */
(function () {
  "use strict";

  var STORE_KEY = "judge-pending-ratings-v1";
  var MAX_DELAY_MS = 30000;
  var ADVANCE_DELAY_MS = 350;

  var item = document.getElementById("judge-item");
  var statusLine = document.getElementById("judge-status");
  var memoryStore = {};
  var flushing = false;
  var flushAgain = false;
  var retryTimer = null;
  var attempt = 0;
  var advanceTimer = null;

  function readQueue() {
    try {
      return JSON.parse(window.localStorage.getItem(STORE_KEY) || "{}") || {};
    } catch (e) {
      return memoryStore;
    }
  }

  function writeQueue(queue) {
    memoryStore = queue;
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(queue));
    } catch (e) {
      /* storage full or disabled: the in-memory copy still retries while the page is open */
    }
  }

  function pendingCount() {
    return Object.keys(readQueue()).length;
  }

  function setStatus(text, kind) {
    if (!statusLine) return;
    statusLine.textContent = text;
    statusLine.setAttribute("data-state", kind || "");
  }

  function waitingText(prefix) {
    var n = pendingCount();
    return prefix + " — " + n + (n === 1 ? " rating" : " ratings") + " waiting, will retry";
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) return meta.getAttribute("content");
    var name = (item && item.getAttribute("data-csrf-cookie")) || "csrftoken";
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var pair = parts[i].trim();
      if (pair.indexOf(name + "=") === 0) return decodeURIComponent(pair.slice(name.length + 1));
    }
    return "";
  }

  function currentId() {
    return item ? item.getAttribute("data-item") : null;
  }

  function showSelected(score, pending) {
    if (!item) return;
    var buttons = item.querySelectorAll("button[data-score]");
    for (var i = 0; i < buttons.length; i++) {
      var on = String(score) === buttons[i].getAttribute("data-score");
      buttons[i].classList.toggle("is-selected", on && !pending);
      buttons[i].classList.toggle("is-pending", on && !!pending);
      buttons[i].setAttribute("aria-pressed", on ? "true" : "false");
    }
  }

  function showProgress(progress) {
    if (!progress) return;
    var bar = document.getElementById("judge-progress-bar");
    var rated = document.getElementById("judge-rated");
    var total = document.getElementById("judge-total");
    if (bar) {
      bar.value = progress.rated;
      bar.max = progress.total;
    }
    if (rated) rated.textContent = progress.rated;
    if (total) total.textContent = progress.total;
  }

  function scheduleRetry() {
    if (retryTimer) return;
    var delay = Math.min(MAX_DELAY_MS, 1000 * Math.pow(2, attempt));
    attempt += 1;
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      flush();
    }, delay);
  }

  function retryNow() {
    if (retryTimer) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
    }
    attempt = 0;
    flush();
  }

  function dropIfUnchanged(id, seq) {
    var queue = readQueue();
    if (queue[id] && queue[id].seq === seq) {
      delete queue[id];
      writeQueue(queue);
    }
  }

  function send(id, entry) {
    return window
      .fetch(entry.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ score: entry.score, seconds: entry.seconds }),
      })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            return { status: response.status, body: body };
          });
      });
  }

  function flush() {
    if (flushing) {
      flushAgain = true;
      return;
    }
    var queue = readQueue();
    var ids = Object.keys(queue);
    if (!ids.length) return;
    flushing = true;
    flushAgain = false;
    var id = ids[0];
    var entry = queue[id];
    if (id === currentId()) setStatus("Saving…", "saving");
    send(id, entry)
      .then(
        function (result) {
          if (result.status >= 200 && result.status < 300) {
            attempt = 0;
            dropIfUnchanged(id, entry.seq);
            onSaved(id, entry, result.body);
            return "next";
          }
          if (result.status >= 400 && result.status < 500 && result.status !== 408 && result.status !== 429) {
            dropIfUnchanged(id, entry.seq);
            var message = (result.body && result.body.message) || "the server refused it (" + result.status + ").";
            setStatus("Not saved: " + message, "error");
            if (id === currentId()) showSelected(item.getAttribute("data-score"), false);
            return "next";
          }
          setStatus(waitingText("Server busy"), "waiting");
          return "retry";
        },
        function () {
          /* fetch rejects only when no answer came back: offline or the connection dropped */
          setStatus(waitingText("Offline"), "waiting");
          return "retry";
        }
      )
      .then(function (outcome) {
        flushing = false;
        if (outcome === "retry") {
          if (flushAgain) retryNow();
          else scheduleRetry();
        } else if (pendingCount()) {
          flush();
        }
      });
  }

  function onSaved(id, entry, body) {
    showProgress(body.progress);
    var left = pendingCount();
    if (id !== currentId()) {
      if (!left) setStatus("Saved", "saved");
      return;
    }
    var queue = readQueue();
    if (queue[id]) return; /* a newer score for this item is on its way */
    item.setAttribute("data-score", String(body.score));
    showSelected(body.score, false);
    setStatus(left ? waitingText("Saved; sending the rest") : "Saved", "saved");
    if (body.next_url) {
      if (advanceTimer) window.clearTimeout(advanceTimer);
      advanceTimer = window.setTimeout(function () {
        window.location.assign(body.next_url);
      }, ADVANCE_DELAY_MS);
    }
  }

  function rate(score) {
    if (!item) return;
    if (item.getAttribute("data-open") !== "1") {
      setStatus("This round is not open for rating; ratings are frozen.", "error");
      return;
    }
    if (advanceTimer) {
      window.clearTimeout(advanceTimer);
      advanceTimer = null;
    }
    var queue = readQueue();
    var id = currentId();
    queue[id] = {
      url: item.getAttribute("data-rating-url"),
      score: score,
      seconds: Math.round(performance.now()) / 1000,
      seq: Date.now() + Math.random(),
    };
    writeQueue(queue);
    showSelected(score, true);
    setStatus("Saving…", "saving");
    retryNow();
  }

  if (item) {
    item.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-score]");
      if (button && !button.disabled) rate(parseInt(button.getAttribute("data-score"), 10));
    });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      var target = event.target;
      var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
      if (tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable)) return;
      if (event.key.length === 1 && event.key >= "1" && event.key <= "5") {
        event.preventDefault();
        rate(parseInt(event.key, 10));
      }
    });
    var waiting = readQueue()[currentId()];
    if (waiting) showSelected(waiting.score, true);
  }

  window.addEventListener("online", retryNow);
  window.addEventListener("offline", function () {
    if (pendingCount()) setStatus(waitingText("Offline"), "waiting");
  });
  window.addEventListener("storage", function (event) {
    if (event.key === STORE_KEY) flush();
  });
  if (pendingCount()) {
    setStatus("Saving…", "saving");
    flush();
  }
})();
