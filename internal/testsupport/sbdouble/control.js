'use strict';
// The HTTP control API of the Service Bus test double (see double.js): creates, inspects and
// deletes entities. It stands in for Service Bus's management API, which the double does not
// implement.

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

function readJSON(req, done) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (!body) return done(null, {});
    try {
      done(null, JSON.parse(body));
    } catch (e) {
      done(e);
    }
  });
}

function handle(store, req, res) {
  const url = new URL(req.url, 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  readJSON(req, (err, opts) => {
    if (err) return send(res, 400, { error: 'invalid JSON: ' + err.message });
    try {
      route(store, req.method, parts, opts, res);
    } catch (e) {
      send(res, 409, { error: e.message });
    }
  });
}

function route(store, method, parts, opts, res) {
  if (method === 'PUT' && parts[0] === 'queues' && parts.length === 2) {
    store.createQueue(parts[1], opts);
    return send(res, 200, { path: parts[1] });
  }
  if (method === 'PUT' && parts[0] === 'topics' && parts.length === 2) {
    store.createTopic(parts[1], opts);
    return send(res, 200, { path: parts[1] });
  }
  if (method === 'PUT' && parts[0] === 'topics' && parts[2] === 'subscriptions' && parts.length === 4) {
    const s = store.createSubscription(parts[1], parts[3], opts);
    return send(res, 200, { path: s.path });
  }
  if (parts[0] === 'entities' && parts.length > 1) {
    const path = parts.slice(1).join('/');
    if (method === 'GET') {
      const q = store.receiveSource(path);
      return q ? send(res, 200, { path: q.path, messages: q.snapshot() }) : send(res, 404, { error: 'no entity ' + path });
    }
    if (method === 'DELETE') {
      return store.deleteEntity(path) ? send(res, 200, { path }) : send(res, 404, { error: 'no entity ' + path });
    }
  }
  return send(res, 404, { error: `no route ${method} /${parts.join('/')}` });
}

module.exports = { handle };
