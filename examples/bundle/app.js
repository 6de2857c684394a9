// The bundle example's page (README "Watch a bundle load"): plain browser JavaScript, no build step.
// It asks the broker for the bundle's cookies, then shows each image as the local CloudFront edge answers it.

const tokenField = document.querySelector('#token');
// A token from ?token= fills the field, then leaves the address bar, so it stays out of history and bookmarks.
const query = new URLSearchParams(location.search);
if (query.has('token')) {
  tokenField.value = query.get('token');
  query.delete('token');
  history.replaceState(null, '', query.size > 0 ? `?${query}` : location.pathname);
}

/** @type {{broker: string, edge: string, bundle: string, images: {key: string, inBundle: boolean}[]}} */
const config = await (await fetch('config.json')).json();

const status = document.querySelector('#status');
const list = document.querySelector('#images');
const buttons = [document.querySelector('#get'), document.querySelector('#clear')];
document.querySelector('#bundle').textContent = config.bundle;
document.querySelector('#edge').textContent = config.edge;
document.querySelector('#broker').textContent = config.broker;

const items = config.images.map(({ key, inBundle }) => {
  const item = document.createElement('li');
  item.innerHTML =
    '<figure><div class="frame"><img width="160" height="100" alt=""></div><figcaption><code></code><br><span class="state"></span></figcaption></figure>';
  item.querySelector('img').alt = key;
  item.querySelector('code').textContent = `${key} (${inBundle ? 'in the bundle' : 'outside it'})`;
  list.append(item);
  return { key, item };
});

/** Loads every image from the edge and says, for each, whether the edge let it through. */
function showImages() {
  // A fresh query each time, so the browser asks the edge again instead of reusing an image it already has.
  const attempt = Date.now();
  return Promise.all(
    items.map(
      ({ key, item }) =>
        new Promise((resolve) => {
          const image = item.querySelector('img');
          const state = item.querySelector('.state');
          const settle = (name, text) => {
            item.dataset.state = name;
            state.textContent = text;
            resolve();
          };
          item.dataset.state = 'loading';
          state.textContent = 'loading…';
          image.onload = () => settle('loaded', `loaded (${image.naturalWidth}×${image.naturalHeight})`);
          // An <img> cannot read the status; without valid cookies for its path the edge answers 403.
          image.onerror = () => settle('refused', 'refused by the edge (403)');
          image.src = `${config.edge}/${encodeURI(key)}?attempt=${attempt}`;
        }),
    ),
  );
}

/** Calls the broker's cookie route: POST sets the bundle's cookies, DELETE clears them. The answer's body ({} for DELETE), or undefined after a failure. */
async function cookies(method) {
  const token = tokenField.value.trim();
  if (token === '') {
    status.textContent = 'Paste a token first: npm run -s dev-token -- --sub alice';
    return undefined;
  }
  let response;
  try {
    response = await fetch(`${config.broker}/v1/bundles/${encodeURIComponent(config.bundle)}/cookies`, {
      method,
      // Without it the browser neither stores the Set-Cookie of a cross-origin answer nor sends cookies.
      credentials: 'include',
      headers: { authorization: `Bearer ${token}` },
    });
  } catch {
    status.textContent = `The broker at ${config.broker} did not answer this page: is it running, started with CORS_ORIGINS=${location.origin}?`;
    return undefined;
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    status.textContent = `The broker refused: ${response.status} ${problem.title ?? ''}${problem.detail ? ` (${problem.detail})` : ''}`;
    return undefined;
  }
  return response.status === 204 ? {} : response.json();
}

/** Runs an action, if any, then shows the images again; aria-busy says when the page has settled (the test waits for it). */
async function run(action) {
  list.setAttribute('aria-busy', 'true');
  for (const button of buttons) button.disabled = true;
  try {
    await action?.();
    await showImages();
  } finally {
    for (const button of buttons) button.disabled = false;
    list.setAttribute('aria-busy', 'false');
  }
}

buttons[0].addEventListener('click', () =>
  run(async () => {
    const grant = await cookies('POST');
    if (grant) status.textContent = `Cookies set for ${grant.resource}, until ${new Date(grant.expiresAt).toLocaleTimeString()}.`;
  }),
);
buttons[1].addEventListener('click', () =>
  run(async () => {
    if (await cookies('DELETE')) status.textContent = 'Cookies cleared.';
  }),
);

status.textContent = 'Each image shows what the edge answers this browser now. Get bundle cookies to open the bundle.';
await run();
