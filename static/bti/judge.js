/* Judge page: rate with buttons or the keys 1-5; save at once; keep unsent ratings and retry.
 *
 * What is rated is what was seen:
 * - Input (keys, score buttons, the "broken" box) is ignored until the item is on screen: the page
 *   is visible (document.visibilityState) and has been painted once (two animation frames), and
 *   then for INPUT_GUARD_MS more. A key pressed for the previous item while this one loads, or in
 *   its first moments on screen, does nothing.
 * - A rating press starts the guard again, and until the server has answered it no other score
 *   is taken, so a second press right after it does nothing either; once the rating is saved and
 *   the page is about to move on, every input is ignored until it has (a changed mind goes back
 *   with "← Previous"). While a rating cannot be sent (offline, server busy) or was refused, a
 *   press after the guard replaces it, as before.
 * - Seconds on task run from the moment the item was on screen (see above, without the guard) to
 *   the press, not from the navigation's start.
 * - Every request names the item the page displayed (``item``), and the server refuses a rating
 *   whose item is not the one its URL addresses.
 *
 * The judge's optional comment and "this item is broken" flag are sent with the rating. Edited on
 * an item that has a rating already (after "← Previous", or while its rating waits to be sent),
 * they are sent again with the current score, and the page stays on the item.
 *
 * A pairwise item (``data-answer="choice"``: two explanations side by side) is answered the same
 * way with a choice instead of a score: the buttons, or ← / 1 (left), → / 2 (right) and ↓ / 3
 * (about the same). Everything else (guard, item id, outbox, retry, remarks) is the same.
 *
 * Every rating goes into an outbox in localStorage first (one entry per item: a newer score, comment
 * or flag for the same item replaces an unsent older entry), then the outbox is sent. A network
 * error or a 5xx keeps the entry and retries with backoff (1 s, 2 s, 4 s … 30 s) and at once on the
 * browser's "online" event; the outbox survives reloads and is sent from any judge page. A 4xx
 * answer (round closed, bad score, another item) is shown and the entry dropped.
 */
(function () {
  "use strict";

  var STORE_KEY = "judge-pending-ratings-v1";
  var MAX_DELAY_MS = 30000;
  var ADVANCE_DELAY_MS = 350;
  // Long enough to swallow a second key press meant for the item before (people press two keys
  // within 200-300 ms when they correct themselves), short enough not to be felt as lag.
  var INPUT_GUARD_MS = 450;
  var COMMENT_SAVE_DELAY_MS = 800; // typing pauses this long before an edited comment is sent

  var item = document.getElementById("judge-item");
  var statusLine = document.getElementById("judge-status");
  var commentBox = document.getElementById("judge-comment");
  var flagBox = document.getElementById("judge-flagged");
  // What the item asks for: "score" (1-5) or, on a pairwise item, "choice" (left, right, same).
  var FIELD = item && item.getAttribute("data-answer") === "choice" ? "choice" : "score";
  var CHOICE_KEYS = { ArrowLeft: "left", 1: "left", ArrowRight: "right", 2: "right", ArrowDown: "same", 3: "same" };
  var memoryStore = {};
  var flushing = false;
  var flushAgain = false;
  var retryTimer = null;
  var attempt = 0;
  var advanceTimer = null;
  var commentTimer = null;
  var shownAt = null; // performance.now() when the item was first on screen
  var readyAt = Infinity; // input is taken from then on
  var leaving = false; // saved; the page is moving on to the next item
  var answerPending = null; // seq of this item's rating whose first answer has not come back yet

  function readOutbox() {
    try {
      return JSON.parse(window.localStorage.getItem(STORE_KEY) || "{}") || {};
    } catch (e) {
      return memoryStore;
    }
  }

  function writeOutbox(outbox) {
    memoryStore = outbox;
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(outbox));
    } catch (e) {
      /* storage full or disabled: the in-memory copy still retries while the page is open */
    }
  }

  function pendingCount() {
    return Object.keys(readOutbox()).length;
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

  function isOpen() {
    return !!item && item.getAttribute("data-open") === "1";
  }

  // --- when the item is on screen ------------------------------------------------------------

  function markShown() {
    if (shownAt !== null || document.visibilityState !== "visible") return;
    // The first frame's callback runs before that frame is painted; the second runs after it.
    window.requestAnimationFrame(function () {
      window.requestAnimationFrame(function () {
        if (shownAt !== null || document.visibilityState !== "visible") return;
        shownAt = performance.now();
        readyAt = shownAt + INPUT_GUARD_MS;
        var shown = shownAt;
        window.setTimeout(function () {
          /* "ready for input" (for people reading the DOM, and tests); skipped if re-shown since */
          if (item && shownAt === shown) item.setAttribute("data-ready", "1");
        }, INPUT_GUARD_MS + 5);
      });
    });
  }

  function accepting() {
    return !leaving && answerPending === null && shownAt !== null && performance.now() >= readyAt;
  }

  function setLeaving(on) {
    leaving = on;
    if (!item) return;
    item.classList.toggle("is-leaving", on);
    var open = isOpen();
    if (commentBox) commentBox.disabled = on || !open;
    if (flagBox) flagBox.disabled = on || !open;
  }

  // --- display ---------------------------------------------------------------------------------

  function showSelected(value, pending) {
    if (!item) return;
    var buttons = item.querySelectorAll("button[data-" + FIELD + "]");
    for (var i = 0; i < buttons.length; i++) {
      var on = String(value) === buttons[i].getAttribute("data-" + FIELD);
      buttons[i].classList.toggle("is-selected", on && !pending);
      buttons[i].classList.toggle("is-pending", on && !!pending);
      buttons[i].setAttribute("aria-pressed", on ? "true" : "false");
    }
  }

  function showRemarks(entry) {
    if (commentBox && typeof entry.comment === "string") commentBox.value = entry.comment;
    if (flagBox && typeof entry.flagged === "boolean") flagBox.checked = entry.flagged;
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

  // --- sending ---------------------------------------------------------------------------------

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
    var outbox = readOutbox();
    if (outbox[id] && outbox[id].seq === seq) {
      delete outbox[id];
      writeOutbox(outbox);
    }
  }

  function send(id, entry) {
    /* Fields an older entry lacks (comment, flagged) are left out: the server keeps what it has. */
    var body = { item: entry.item || id, seconds: entry.seconds };
    if (typeof entry.choice === "string") body.choice = entry.choice;
    else body.score = entry.score;
    if (typeof entry.comment === "string") body.comment = entry.comment;
    if (typeof entry.flagged === "boolean") body.flagged = entry.flagged;
    return window
      .fetch(entry.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
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
    var outbox = readOutbox();
    var ids = Object.keys(outbox);
    if (!ids.length) return;
    flushing = true;
    flushAgain = false;
    var id = ids[0];
    var entry = outbox[id];
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
            if (id === currentId()) showSelected(item.getAttribute("data-" + FIELD), false);
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
        if (entry.seq === answerPending) answerPending = null; /* answered, or unreachable: scores are taken again */
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
    var outbox = readOutbox();
    if (outbox[id]) return; /* a newer score, comment or flag for this item is on its way */
    var answer = FIELD === "choice" ? body.choice : body.score;
    item.setAttribute("data-" + FIELD, String(answer));
    if (typeof body.comment === "string") item.setAttribute("data-comment", body.comment);
    if (typeof body.flagged === "boolean") item.setAttribute("data-flagged", String(body.flagged));
    showSelected(answer, false);
    setStatus(left ? waitingText("Saved; sending the rest") : "Saved", "saved");
    if (entry.advance !== false && body.next_url) {
      setLeaving(true);
      if (advanceTimer) window.clearTimeout(advanceTimer);
      advanceTimer = window.setTimeout(function () {
        window.location.assign(body.next_url);
      }, ADVANCE_DELAY_MS);
    }
  }

  function newSeq() {
    return Date.now() + Math.random();
  }

  function remarks() {
    return {
      comment: commentBox ? commentBox.value.trim() : undefined,
      flagged: flagBox ? flagBox.checked : undefined,
    };
  }

  // --- input -----------------------------------------------------------------------------------

  function rate(value) {
    if (!item) return;
    if (!isOpen()) {
      setStatus("This round is not open for rating; ratings are frozen.", "error");
      return;
    }
    if (!accepting()) return; /* not on screen long enough yet, or already moving on */
    var now = performance.now();
    readyAt = now + INPUT_GUARD_MS;
    if (commentTimer) {
      window.clearTimeout(commentTimer);
      commentTimer = null;
    }
    var outbox = readOutbox();
    var id = currentId();
    var extra = remarks();
    outbox[id] = {
      url: item.getAttribute("data-rating-url"),
      item: id,
      seconds: Math.round(now - shownAt) / 1000,
      comment: extra.comment,
      flagged: extra.flagged,
      advance: true,
      seq: newSeq(),
    };
    outbox[id][FIELD] = value;
    writeOutbox(outbox);
    answerPending = outbox[id].seq;
    showSelected(value, true);
    setStatus("Saving…", "saving");
    retryNow();
  }

  function remarksChanged() {
    if (commentTimer) {
      window.clearTimeout(commentTimer);
      commentTimer = null;
    }
    if (!item || leaving || !isOpen()) return;
    var outbox = readOutbox();
    var id = currentId();
    var extra = remarks();
    var entry = outbox[id];
    if (entry) {
      /* a rating of this item waits to be sent: the remarks go with it */
      if (entry.comment === extra.comment && entry.flagged === extra.flagged) return;
      entry.comment = extra.comment;
      entry.flagged = extra.flagged;
      var merged = newSeq();
      if (answerPending === entry.seq) answerPending = merged;
      entry.seq = merged;
    } else {
      var saved = item.getAttribute("data-" + FIELD);
      if (!saved) return; /* nothing rated yet: they are sent with the rating */
      if (extra.comment === item.getAttribute("data-comment") && String(extra.flagged) === item.getAttribute("data-flagged")) return;
      entry = {
        url: item.getAttribute("data-rating-url"),
        item: id,
        seconds: null,
        comment: extra.comment,
        flagged: extra.flagged,
        advance: false,
        seq: newSeq(),
      };
      entry[FIELD] = FIELD === "choice" ? saved : parseInt(saved, 10);
    }
    outbox[id] = entry;
    writeOutbox(outbox);
    setStatus("Saving…", "saving");
    retryNow();
  }

  function typesText(target) {
    var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "textarea" || tag === "select" || (target && target.isContentEditable)) return true;
    return tag === "input" && !/^(checkbox|radio|button|submit|reset)$/.test(target.type || "");
  }

  if (item) {
    item.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-" + FIELD + "]");
      if (!button || button.disabled) return;
      var value = button.getAttribute("data-" + FIELD);
      rate(FIELD === "choice" ? value : parseInt(value, 10));
    });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      if (typesText(event.target)) return;
      if (FIELD === "choice") {
        if (Object.prototype.hasOwnProperty.call(CHOICE_KEYS, event.key)) {
          event.preventDefault(); /* ↓ would scroll the page */
          rate(CHOICE_KEYS[event.key]);
        }
      } else if (event.key.length === 1 && event.key >= "1" && event.key <= "5") {
        event.preventDefault();
        rate(parseInt(event.key, 10));
      }
    });
    if (flagBox) {
      flagBox.addEventListener("click", function (event) {
        if (!accepting()) event.preventDefault(); /* a click meant for the item before */
      });
      flagBox.addEventListener("change", remarksChanged);
    }
    if (commentBox) {
      commentBox.addEventListener("input", function () {
        if (commentTimer) window.clearTimeout(commentTimer);
        commentTimer = window.setTimeout(remarksChanged, COMMENT_SAVE_DELAY_MS);
      });
      commentBox.addEventListener("change", remarksChanged);
    }
    var waiting = readOutbox()[currentId()];
    if (waiting) {
      showSelected(waiting[FIELD], true);
      showRemarks(waiting);
    }
    markShown();
    document.addEventListener("visibilitychange", markShown);
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      /* back from the browser's page cache: this item is on screen again, from now on */
      if (advanceTimer) window.clearTimeout(advanceTimer);
      advanceTimer = null;
      setLeaving(false);
      shownAt = null;
      readyAt = Infinity;
      item.removeAttribute("data-ready");
      markShown();
    });
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

  /* A study link opened inside MTurk's frame: its button opens the same link in a tab of its own
   * (a session does not last inside another site's frame). The address is built here, from the
   * frame's own, so that the page never repeats the participant's id. */
  var studyOpen = document.getElementById("study-open");
  if (studyOpen) {
    var here = new URL(window.location.href);
    here.searchParams.set("tab", "1");
    studyOpen.setAttribute("href", here.toString());
    studyOpen.removeAttribute("aria-disabled");
  }
})();
