// takedown web interface: the few things that need a script. Everything works through plain
// forms and links without it except revealing previews and the review queue's keys.
(function () {
  'use strict';

  function csrf() {
    var field = document.querySelector('input[name="csrf"]');
    return field ? field.value : '';
  }

  // Reveal one preview: remove its blur, count one exposure for today.
  function reveal(guard) {
    if (!guard || guard.classList.contains('revealed')) { return; }
    guard.classList.add('revealed');
    var button = guard.querySelector('button.reveal');
    if (button) { button.textContent = 'Hide again'; }
    fetch('/ui/exposure', { method: 'POST', credentials: 'same-origin',
                            headers: { 'x-csrf-token': csrf() } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        var value = document.getElementById('exposure-value');
        if (body && value) { value.textContent = String(body.today); }
      })
      .catch(function () {});
  }

  function hide(guard) {
    guard.classList.remove('revealed');
    var button = guard.querySelector('button.reveal');
    if (button) { button.textContent = 'Reveal this item'; }
    guard.querySelectorAll('video, audio').forEach(function (media) { media.pause(); });
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest('button.reveal');
    if (!button) { return; }
    var guard = button.closest('.guard');
    if (guard.classList.contains('revealed')) { hide(guard); } else { reveal(guard); }
  });

  // Media never plays by itself and starts muted.
  document.querySelectorAll('video, audio').forEach(function (media) {
    media.autoplay = false;
    media.muted = true;
  });

  // Forms that destroy something ask first.
  document.addEventListener('submit', function (event) {
    var question = event.target.getAttribute('data-ask');
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // The review queue: j/k move, c confirms, r goes to the rejection reason, v reveals.
  var queue = document.querySelector('[data-queue]');
  if (!queue) { return; }
  var cases = Array.prototype.slice.call(queue.querySelectorAll('.case'));
  var current = 0;
  function select(index, focus) {
    if (!cases.length) { return; }
    current = Math.max(0, Math.min(cases.length - 1, index));
    cases.forEach(function (item, i) { item.classList.toggle('current', i === current); });
    if (focus) { cases[current].focus(); cases[current].scrollIntoView({ block: 'nearest' }); }
  }
  cases.forEach(function (item, i) {
    item.addEventListener('focusin', function () { select(i, false); });
  });
  select(0, false);
  document.addEventListener('keydown', function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.target.closest('input, textarea, select, button')) {
      if (event.key === 'Escape') { cases[current] && cases[current].focus(); }
      return;
    }
    var item = cases[current];
    if (event.key === 'j') { select(current + 1, true); event.preventDefault(); }
    else if (event.key === 'k') { select(current - 1, true); event.preventDefault(); }
    else if (event.key === 'c' && item) {
      var form = item.querySelector('form[data-decision="confirm"]');
      if (form) { event.preventDefault(); form.requestSubmit(); }
    } else if (event.key === 'r' && item) {
      var reason = item.querySelector('input[name="reason"]');
      if (reason) { event.preventDefault(); reason.focus(); }
    } else if (event.key === 'v' && item) {
      var guard = item.querySelector('.guard');
      if (guard) { event.preventDefault(); reveal(guard); }
    }
  });
}());
