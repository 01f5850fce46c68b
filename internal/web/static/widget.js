// giftdesk chat widget. Embed with one line:
//   <script src="https://HOST/widget.js" async></script>
// It adds a launcher button in the bottom-right corner that opens the chat
// (https://HOST/?embed=1) in a frame; the button, Escape or the close button close it.
// Styles are set through the CSSOM, so the host page's CSP need not allow inline styles.
(function () {
  'use strict';
  if (window.giftdeskWidget) return;
  var script = document.currentScript;
  if (!script) {
    var all = document.getElementsByTagName('script');
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|$)/.test(all[i].src)) { script = all[i]; break; }
    }
  }
  if (!script || !script.src) return;
  var origin = new URL(script.src, location.href).origin;
  var ja = /^ja\b/i.test(document.documentElement.lang || navigator.language || '');
  var text = ja
    ? { open: 'チャットで相談', close: 'チャットを閉じる', frame: 'ギフト券サポートのチャット' }
    : { open: 'Chat with support', close: 'Close chat', frame: 'Gift card support chat' };

  function css(el, props) { for (var k in props) el.style[k] = props[k]; }

  var root = document.createElement('div');
  root.className = 'giftdesk-widget';
  css(root, { position: 'fixed', right: '16px', bottom: '16px', zIndex: '2147483000', fontFamily: 'system-ui, sans-serif' });

  var panel = document.createElement('div');
  panel.id = 'giftdesk-panel';
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', text.frame);
  panel.hidden = true;
  css(panel, {
    position: 'fixed', right: '16px', bottom: '88px', width: '380px', height: '600px',
    maxWidth: 'calc(100vw - 32px)', maxHeight: 'calc(100vh - 112px)', borderRadius: '14px',
    overflow: 'hidden', boxShadow: '0 8px 30px rgba(0,0,0,.25)', background: '#fff'
  });

  var close = document.createElement('button');
  close.type = 'button';
  close.textContent = '×';
  close.setAttribute('aria-label', text.close);
  css(close, {
    position: 'absolute', top: '6px', right: '8px', width: '36px', height: '36px', border: '0',
    borderRadius: '18px', background: '#fff', color: '#0a6b34', fontSize: '22px', lineHeight: '1', cursor: 'pointer'
  });

  var launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.className = 'giftdesk-launcher';
  launcher.setAttribute('aria-label', text.open);
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-controls', panel.id);
  launcher.textContent = '💬';
  css(launcher, {
    width: '60px', height: '60px', borderRadius: '30px', border: '0', cursor: 'pointer',
    background: '#0a7a3b', color: '#fff', fontSize: '28px', boxShadow: '0 4px 14px rgba(0,0,0,.3)'
  });

  var frame = null;
  function open() {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.src = origin + '/?embed=1';
      frame.title = text.frame;
      css(frame, { width: '100%', height: '100%', border: '0', display: 'block' });
      panel.insertBefore(frame, close);
    }
    panel.hidden = false;
    mobile();
    launcher.setAttribute('aria-expanded', 'true');
    launcher.setAttribute('aria-label', text.close);
    launcher.textContent = '×';
    frame.focus();
  }
  function shut() {
    if (panel.hidden) return;
    panel.hidden = true;
    mobile();
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', text.open);
    launcher.textContent = '💬';
    launcher.focus();
  }
  launcher.addEventListener('click', function () { if (panel.hidden) open(); else shut(); });
  close.addEventListener('click', shut);
  panel.addEventListener('keydown', function (e) { if (e.key === 'Escape') shut(); });
  window.addEventListener('message', function (e) {
    if (e.origin === origin && e.data && e.data.giftdesk === 'close') shut();
  });

  function focusRing(el) {
    el.addEventListener('focus', function () { css(el, { outline: '3px solid #1a56db', outlineOffset: '2px' }); });
    el.addEventListener('blur', function () { css(el, { outline: 'none' }); });
  }
  focusRing(launcher);
  focusRing(close);

  function mobile() {
    var small = window.innerWidth <= 480;
    // On a phone the frame fills the screen; its own close button replaces the launcher.
    launcher.style.display = small && !panel.hidden ? 'none' : '';
    css(panel, small
      ? { right: '0', bottom: '0', width: '100vw', height: '100%', maxWidth: 'none', maxHeight: 'none', borderRadius: '0' }
      : { right: '16px', bottom: '88px', width: '380px', height: '600px', maxWidth: 'calc(100vw - 32px)', maxHeight: 'calc(100vh - 112px)', borderRadius: '14px' });
  }
  mobile();
  window.addEventListener('resize', mobile);

  panel.appendChild(close);
  root.appendChild(panel);
  root.appendChild(launcher);
  function mount() { document.body.appendChild(root); }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
  window.giftdeskWidget = { open: open, close: shut };
})();
