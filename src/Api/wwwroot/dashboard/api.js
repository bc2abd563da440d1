// The REST API as the dashboard uses it: JSON requests carrying the API key when one is set,
// problem details turned into errors, and the metrics stream read with fetch (EventSource cannot
// send an Authorization header).

const keyStorageName = 'trainingservice.apiKey';

export function apiKey() {
  return localStorage.getItem(keyStorageName) ?? '';
}

export function setApiKey(key) {
  if (key) localStorage.setItem(keyStorageName, key);
  else localStorage.removeItem(keyStorageName);
}

function headers(accept, hasBody) {
  const result = { Accept: accept };
  if (hasBody) result['Content-Type'] = 'application/json';
  const key = apiKey();
  if (key) result.Authorization = `Bearer ${key}`;
  return result;
}

/** An RFC 7807 answer: `problem` holds its title, detail and, for 400s, errors by field. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(path, {
    method,
    headers: headers('application/json', body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { title: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Downloads a file that may need the API key (a plain link cannot send it). */
export async function download(path, fileName) {
  const response = await fetch(path, { headers: headers('*/*', false) });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: fileName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Follows a Server-Sent Events stream until it sends `end` or `signal` aborts, calling
 * `onEvent({ event, id, data })` for each event. A dropped connection is reopened after a pause
 * with Last-Event-ID, so no epoch arrives twice and none is missed.
 */
export async function followEvents(path, onEvent, signal) {
  let lastEventId = null;
  while (!signal.aborted) {
    try {
      const requestHeaders = headers('text/event-stream', false);
      if (lastEventId !== null) requestHeaders['Last-Event-ID'] = lastEventId;
      const response = await fetch(path, { headers: requestHeaders, signal });
      if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
      for await (const received of parseEvents(response.body, signal)) {
        if (received.id) lastEventId = received.id;
        onEvent(received);
        if (received.event === 'end') return;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status < 500) throw error;
    }
    await new Promise(resolve => setTimeout(resolve, 2000));
  }
}

async function* parseEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let current = { event: 'message', id: '', data: [] };
  try {
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          if (current.data.length > 0) yield { event: current.event, id: current.id, data: current.data.join('\n') };
          current = { event: 'message', id: '', data: [] };
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') current.event = value;
          else if (field === 'id') current.id = value;
          else if (field === 'data') current.data.push(value);
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}
