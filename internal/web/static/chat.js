// giftdesk web chat: the page's whole client. No framework, no build step.
//
// The conversation comes from GET /api/events (Server-Sent Events: the whole history
// first, then live entries, resumed by Last-Event-ID or ?after=N); what the customer
// types or taps goes to POST /api/messages with an id made here, and a failed POST is
// sent again with the same id, so a resend has one effect. Everything the server sends
// is shown with textContent: no text is ever read as HTML.
'use strict';
(function () {
  var T = {
    ja: {
      title: 'ギフト券サポート', input: 'メッセージ', placeholder: 'メッセージを入力',
      send: '送信', other: 'English', otherLang: 'en', otherData: 'c:lang_en',
      typing: 'サポートが入力中です', bot: 'サポート', agent: '担当者', you: 'あなた',
      log: '会話', choices: '選択肢', steps: '手順',
      sending: '送信中…', retrying: '再送しています…', failed: '送信できませんでした',
      retry: '再送', close: '閉じる',
      offline: '接続が切れました。再接続しています…',
      noServer: 'サーバーに接続できません。しばらくしてから再読み込みしてください。',
      rate: '送信が多すぎます。{s}秒後に自動で再送します。',
      tooLong: 'メッセージが長すぎます。{n}文字以内でお書きください。',
      session: 'セッションが無効になったため、新しい会話を始めました。',
      reload: 'セッションを開始できません。ページを再読み込みしてください。',
      generic: '送信できませんでした。'
    },
    en: {
      title: 'Gift card support', input: 'Message', placeholder: 'Type a message',
      send: 'Send', other: '日本語', otherLang: 'ja', otherData: 'c:lang_ja',
      typing: 'Support is typing', bot: 'Support', agent: 'Agent', you: 'You',
      log: 'Conversation', choices: 'Options', steps: 'Steps',
      sending: 'Sending…', retrying: 'Sending again…', failed: 'Not sent',
      retry: 'Retry', close: 'Close',
      offline: 'Connection lost. Reconnecting…',
      noServer: 'Cannot reach the server. Please reload the page in a moment.',
      rate: 'Too many messages. Sending again in {s} seconds.',
      tooLong: 'That message is too long. Please keep it under {n} characters.',
      session: 'Your session was no longer valid, so a new conversation has started.',
      reload: 'Cannot start a session. Please reload the page.',
      generic: 'The message could not be sent.'
    }
  };
  var STORE = 'giftdesk.pending';
  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    title: $('title'), lang: $('lang'), scroller: $('scroller'), log: $('log'), pending: $('pending'),
    typing: $('typing'), typingText: $('typing-text'), announce: $('announce'), error: $('error'),
    errorText: $('error-text'), errorClose: $('error-close'), form: $('composer'), input: $('input'),
    inputLabel: $('input-label'), count: $('count'), send: $('send')
  };
  var lang = document.documentElement.lang === 'en' ? 'en' : 'ja';
  var maxText = 0;
  var lastSeq = 0;
  var es = null;
  var esBackoff = 1000;
  var offlineTimer = 0;
  var typingTimer = 0;
  var pending = {}; // client id → {id, body, shown, el, status, tries, timer, acked}
  var errorKind = '';
  var starts = 0; // fresh sessions started after a 401, to stop a loop
  var starting = false;
  var said = [];
  var announceTimer = 0;
  var sessionTimer = 0;

  function t(k) { return T[lang][k]; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  // ---- language -------------------------------------------------------------------

  function setLang(l) {
    if (l !== 'ja' && l !== 'en') return;
    lang = l;
    document.documentElement.lang = l;
    document.title = t('title');
    ui.title.textContent = t('title');
    ui.lang.textContent = t('other');
    ui.lang.lang = t('otherLang');
    ui.inputLabel.textContent = t('input');
    ui.input.placeholder = t('placeholder');
    ui.send.textContent = t('send');
    ui.typingText.textContent = t('typing');
    ui.errorClose.setAttribute('aria-label', t('close'));
    ui.log.setAttribute('aria-label', t('log'));
    Object.keys(pending).forEach(function (id) { showStatus(pending[id]); });
  }

  // refreshSession reads the conversation's language again after the bot has spoken: a
  // customer may switch by typing ("English please") as well as with the button.
  function refreshSession() {
    clearTimeout(sessionTimer);
    sessionTimer = setTimeout(function () {
      fetch('/api/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (s) { if (s) setLang(s.lang); }, function () {});
    }, 300);
  }

  // ---- errors and announcements ---------------------------------------------------

  function showError(kind, text) {
    errorKind = kind;
    ui.errorText.textContent = text;
    ui.error.hidden = false;
  }

  function clearError(kind) {
    if (kind && kind !== errorKind) return;
    errorKind = '';
    ui.error.hidden = true;
    ui.errorText.textContent = '';
  }

  // announce says new bot and agent messages through the polite live region, a short
  // burst (the history replayed on load, a turn of several messages) as one announcement.
  function announce(text) {
    said.push(text);
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () {
      ui.announce.textContent = said.slice(-3).join('\n');
      said = [];
    }, 250);
  }

  // ---- the conversation -----------------------------------------------------------

  function nearBottom() {
    var s = ui.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  function toBottom() { ui.scroller.scrollTop = ui.scroller.scrollHeight; }

  function timeOf(at) {
    var d = new Date(at);
    if (!at || isNaN(d.getTime())) return null;
    var e = el('time', 'time', d.getHours() + ':' + (d.getMinutes() < 10 ? '0' : '') + d.getMinutes());
    e.dateTime = d.toISOString();
    return e;
  }

  // retireChoices removes the options of earlier messages, as LINE's quick replies go
  // away once the conversation moves on.
  function retireChoices() {
    var old = ui.log.querySelectorAll('.choices');
    for (var i = 0; i < old.length; i++) {
      var hadFocus = old[i].contains(document.activeElement);
      old[i].remove();
      if (hadFocus && !matchMedia('(pointer: coarse)').matches) ui.input.focus({ preventScroll: true });
    }
  }

  function choiceButtons(m) {
    var box = el('div', 'choices');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', t('choices'));
    m.choices.forEach(function (c) {
      if (!c || !c.label) return;
      var b = el('button', 'choice', c.label);
      b.type = 'button';
      b.addEventListener('click', function () {
        var all = box.querySelectorAll('button');
        for (var i = 0; i < all.length; i++) all[i].disabled = true;
        b.classList.add('chosen');
        send({ postback: c.data, label: c.label }, c.label);
      });
      box.appendChild(b);
    });
    return box;
  }

  function stepsCard(m) {
    var card = el('div', 'bubble card');
    if (m.title) card.appendChild(el('h2', 'card-title', m.title));
    if (m.text) card.appendChild(el('p', 'card-text', m.text));
    if (m.steps && m.steps.length) {
      var ol = el('ol', 'steps');
      ol.setAttribute('aria-label', t('steps'));
      m.steps.forEach(function (s) { ol.appendChild(el('li', null, s)); });
      card.appendChild(ol);
    }
    if (m.note) card.appendChild(el('p', 'card-note', m.note));
    return card;
  }

  function entry(m) {
    var from = m.from === 'customer' || m.from === 'agent' ? m.from : 'bot';
    var row = el('div', 'msg ' + from);
    if (m.seq) row.setAttribute('data-seq', String(m.seq));
    if (m.client_id) row.setAttribute('data-client-id', m.client_id);
    row.setAttribute('data-kind', m.kind || 'text');
    if (from === 'agent') row.appendChild(el('span', 'who', t('agent')));
    var bubble = m.kind === 'steps' ? stepsCard(m) : el('div', 'bubble', m.text || '');
    if (m.kind === 'handoff') bubble.classList.add('handoff');
    row.appendChild(bubble);
    var time = timeOf(m.at);
    if (time) row.appendChild(time);
    if (from !== 'customer' && m.choices && m.choices.length) row.appendChild(choiceButtons(m));
    return row;
  }

  function spoken(m) {
    var who = m.from === 'agent' ? t('agent') : t('bot');
    var text = m.kind === 'steps' ? [m.title, m.text].concat(m.steps || []).filter(Boolean).join('。') : m.text;
    return who + ': ' + (text || '');
  }

  function onEntry(m) {
    if (!m || typeof m.seq !== 'number' || m.seq <= lastSeq) return; // seen already
    lastSeq = m.seq;
    var stick = nearBottom();
    if (m.from === 'customer') {
      var p = m.client_id && pending[m.client_id];
      if (p) { drop(p); stick = true; }
    }
    retireChoices();
    ui.log.appendChild(entry(m));
    if (m.from !== 'customer') {
      setTyping(false);
      announce(spoken(m));
      // The bot speaks the conversation's language: when it seems to have changed (the
      // customer typed "English please"), ask the server which it is now.
      if (m.from === 'bot' && /[\u3040-\u30ff\u4e00-\u9fff]/.test(m.text || m.title || '') !== (lang === 'ja')) refreshSession();
    }
    if (stick) toBottom();
  }

  function setTyping(on) {
    clearTimeout(typingTimer);
    var stick = nearBottom();
    ui.typing.hidden = !on;
    if (on) {
      typingTimer = setTimeout(function () { ui.typing.hidden = true; }, 60000);
      if (stick) toBottom();
    }
  }

  // ---- events from the server -----------------------------------------------------

  function connect() {
    if (es) es.close();
    var src = new EventSource('/api/events' + (lastSeq ? '?after=' + lastSeq : ''));
    es = src;
    src.addEventListener('message', function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      onEntry(m);
    });
    src.addEventListener('typing', function (e) {
      try { setTyping(!!JSON.parse(e.data).on); } catch (err) { /* ignore a bad frame */ }
    });
    src.addEventListener('open', function () {
      esBackoff = 1000;
      clearTimeout(offlineTimer);
      offlineTimer = 0;
      clearError('offline');
    });
    src.addEventListener('error', function () {
      if (es !== src) return;
      if (!offlineTimer) {
        offlineTimer = setTimeout(function () { showError('offline', t('offline')); }, 2500);
      }
      if (src.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error such as 401): ask for the session again,
        // which starts over when it is no longer valid, and resume from the last entry.
        src.close();
        setTimeout(function () { if (es === src) start(false); }, esBackoff);
        esBackoff = Math.min(esBackoff * 2, 30000);
      }
    });
  }

  // ---- sending --------------------------------------------------------------------

  function newId() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    var s = '';
    for (var i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
    return s;
  }

  function save() {
    try {
      var list = Object.keys(pending).map(function (id) {
        var p = pending[id];
        return { id: p.id, body: p.body, shown: p.shown };
      });
      if (list.length) sessionStorage.setItem(STORE, JSON.stringify(list));
      else sessionStorage.removeItem(STORE);
    } catch (e) { /* storage may be disabled: the message is still sent */ }
  }

  function showStatus(p) {
    var s = p.el.querySelector('.status');
    s.textContent = '';
    if (p.status === 'failed') {
      s.appendChild(el('span', null, t('failed') + ' '));
      var b = el('button', 'link-btn', t('retry'));
      b.type = 'button';
      b.addEventListener('click', function () { p.tries = 0; post(p); });
      s.appendChild(b);
    } else if (p.status === 'sending' || p.status === 'retrying') {
      s.textContent = t(p.status);
    }
    p.el.classList.toggle('failed', p.status === 'failed');
  }

  function setStatus(p, status) {
    p.status = status;
    showStatus(p);
  }

  function addPending(id, body, shown) {
    var row = el('div', 'msg customer pending-msg');
    row.setAttribute('data-client-id', id);
    row.appendChild(el('div', 'bubble', shown));
    row.appendChild(el('span', 'status'));
    var p = { id: id, body: body, shown: shown, el: row, status: '', tries: 0, timer: 0, acked: false };
    pending[id] = p;
    ui.pending.appendChild(row);
    toBottom();
    return p;
  }

  function drop(p) {
    clearTimeout(p.timer);
    p.el.remove();
    delete pending[p.id];
    save();
  }

  // send shows the customer's message at once and posts it; body is {text} or
  // {postback, label}.
  function send(body, shown) {
    var id = newId();
    body.id = id;
    var p = addPending(id, body, shown);
    save();
    post(p);
  }

  function post(p) {
    if (!pending[p.id]) return;
    clearTimeout(p.timer);
    p.tries++;
    var slow = setTimeout(function () { setStatus(p, p.tries > 1 ? 'retrying' : 'sending'); }, p.tries > 1 ? 0 : 800);
    fetch('/api/messages', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(p.body)
    }).then(function (res) {
      clearTimeout(slow);
      if (res.status === 202 || res.status === 200) {
        p.acked = true;
        setStatus(p, '');
        save();
        clearError('send');
        clearError('rate');
        return;
      }
      return res.json().catch(function () { return {}; }).then(function (j) { refused(p, res, j || {}); });
    }, function () {
      clearTimeout(slow);
      later(p);
    });
  }

  // later posts p again after a pause (a network error or a server error), with the same
  // id; after six tries it waits for the customer's retry or the browser going online.
  function later(p) {
    if (!pending[p.id]) return;
    if (p.tries >= 6) {
      setStatus(p, 'failed');
      return;
    }
    setStatus(p, 'retrying');
    p.timer = setTimeout(function () { post(p); }, Math.min(1000 * Math.pow(2, p.tries - 1), 15000));
  }

  function refused(p, res, j) {
    if (!pending[p.id]) return;
    if (res.status === 429) {
      var s = parseInt(res.headers.get('Retry-After'), 10);
      if (!(s > 0)) s = 5;
      showError('rate', t('rate').replace('{s}', String(s)));
      setStatus(p, 'retrying');
      p.timer = setTimeout(function () { post(p); }, s * 1000);
      return;
    }
    if (res.status === 401) {
      start(true);
      return;
    }
    if (res.status >= 500 || res.status === 408) {
      later(p);
      return;
    }
    // 400, 413: this message cannot be sent as it is; give the text back to edit.
    var text = j.error || (res.status === 413 && maxText ? t('tooLong').replace('{n}', String(maxText)) : t('generic'));
    showError('send', text);
    drop(p);
    if (p.body.text && !ui.input.value) {
      ui.input.value = p.body.text;
      grow();
      counter();
    }
  }

  function resendSaved() {
    var list;
    try { list = JSON.parse(sessionStorage.getItem(STORE) || '[]'); } catch (e) { list = []; }
    if (!Array.isArray(list)) return;
    list.forEach(function (s) {
      if (!s || !s.id || !s.body || pending[s.id]) return;
      if (ui.log.querySelector('[data-client-id="' + String(s.id).replace(/[^A-Za-z0-9_-]/g, '') + '"]')) return;
      post(addPending(s.id, s.body, s.shown || s.body.text || s.body.label || ''));
    });
    save();
  }

  // ---- the session ----------------------------------------------------------------

  // start reads the session (creating it) and opens the event stream. fresh: the server
  // refused the conversation (401), so what is on screen belongs to no conversation.
  function start(fresh) {
    if (starting) return;
    if (fresh) {
      if (++starts > 3) {
        if (es) es.close();
        es = null;
        showError('session', t('reload'));
        return;
      }
      if (es) es.close();
      es = null;
      lastSeq = 0;
      ui.log.textContent = '';
      Object.keys(pending).forEach(function (id) {
        var p = pending[id];
        if (p.body.text && !ui.input.value) ui.input.value = p.body.text; // not lost: to send again
        drop(p);
      });
      setTyping(false);
    }
    starting = true;
    fetch('/api/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (res) {
        starting = false;
        if (res.status === 401) { start(true); return null; }
        if (!res.ok) throw new Error('session ' + res.status);
        return res.json();
      })
      .then(function (s) {
        if (!s) return;
        if (fresh) showError('session', t('session'));
        setLang(s.lang);
        maxText = s.max_text > 0 ? s.max_text : 0;
        connect();
        resendSaved();
      })
      .catch(function () {
        starting = false;
        showError('offline', t('noServer'));
        setTimeout(function () { start(false); }, esBackoff);
        esBackoff = Math.min(esBackoff * 2, 30000);
      });
  }

  // ---- the composer ---------------------------------------------------------------

  function grow() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight, 160) + 'px';
  }

  function counter() {
    var n = Array.from(ui.input.value).length;
    if (maxText && n > maxText * 0.8) {
      ui.count.hidden = false;
      ui.count.textContent = n + ' / ' + maxText;
      ui.count.classList.toggle('over', n > maxText);
    } else {
      ui.count.hidden = true;
    }
  }

  ui.form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = ui.input.value.replace(/^\s+|\s+$/g, '');
    if (!text) return;
    ui.input.value = '';
    grow();
    counter();
    send({ text: text }, text);
  });

  ui.input.addEventListener('keydown', function (e) {
    // Enter sends; Shift+Enter is a new line; Enter that confirms a Japanese
    // conversion (IME composition) is the IME's.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      ui.form.requestSubmit ? ui.form.requestSubmit() : ui.send.click();
    }
  });
  ui.input.addEventListener('input', function () { grow(); counter(); });

  ui.lang.addEventListener('click', function () {
    var label = t('other');
    var data = t('otherData');
    setLang(t('otherLang'));
    send({ postback: data, label: label }, label);
  });

  ui.errorClose.addEventListener('click', function () { clearError(); ui.input.focus(); });

  window.addEventListener('online', function () {
    Object.keys(pending).forEach(function (id) {
      var p = pending[id];
      if (!p.acked && (p.status === 'failed' || p.status === 'retrying')) { p.tries = 0; post(p); }
    });
  });

  if (/(^|[?&])embed=1(&|$)/.test(location.search)) {
    document.documentElement.classList.add('embed');
    // The frame is made when the customer opens the widget: ready to type (and focused
    // again whenever the widget focuses the frame). Not on a touch screen, where the
    // keyboard would cover the conversation.
    if (!matchMedia('(pointer: coarse)').matches) ui.input.focus({ preventScroll: true });
    // Escape inside the frame closes the widget (widget.js checks where this comes from).
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && window.parent !== window) window.parent.postMessage({ giftdesk: 'close' }, '*');
    });
  }

  setLang(lang);
  start(false);
})();
