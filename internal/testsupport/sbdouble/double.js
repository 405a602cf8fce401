'use strict';
// A test double of Azure Service Bus: an AMQP 1.0 server (built on the npm library rhea) that the
// Go SDK (azservicebus) and so gocloud's azuresb driver can use in place of a namespace.
//
// It follows these Microsoft documents:
//   - "AMQP 1.0 in Azure Service Bus and Event Hubs protocol guide": links to entity paths
//     ("queue", "topic/Subscriptions/sub", "+/$DeadLetterQueue"), peek-lock through receiver
//     settle mode second, the lock token as delivery tag (.NET Guid byte order) and as the
//     x-opt-lock-token delivery annotation, the x-opt-* message annotations, dispositions
//     (accepted = complete, released, modified = abandon or defer, rejected = dead-letter);
//   - "AMQP 1.0 in Service Bus: request-response-based operations": the <entity>/$management
//     node, com.microsoft:renew-lock and com.microsoft:update-disposition (others answer 501
//     and are logged), status-code and status-description application properties, replies
//     correlated by correlation-id and sent to the request's reply-to;
//   - "Claims-based authorization (CBS)": put-token on the $cbs node; any token is accepted
//     (status-code 202);
//   - "Message transfers, locks, and settlement", "Service Bus dead-letter queues",
//     "Duplicate detection": see entities.js.
//
// It speaks plain AMQP (no TLS) with SASL ANONYMOUS, which is what the SDK uses for a connection
// string with UseDevelopmentEmulator=true. Entities are created over a small HTTP control API,
// standing in for the ARM/ATOM management API:
//
//   PUT    /queues/{name}                          JSON body: options (see entities.js DEFAULTS)
//   PUT    /topics/{name}
//   PUT    /topics/{topic}/subscriptions/{name}
//   GET    /entities/{entity path}                 the messages: available, locked, deferred
//   DELETE /entities/{entity path}
//
// Usage: node double.js [--lock-ms N] [--max-delivery-count N] [--max-message-size N] [--verbose]
// It listens on two free ports of 127.0.0.1 and prints {"amqp":port,"http":port} on one line
// when ready. It exits when its standard input closes.
//
// Not supported: sessions (receivers with a session filter are refused; session ids are kept on
// messages), transactions, scheduled-message cancellation, peek, auto-forwarding, TTL expiry.

const http = require('http');
const rhea = require('rhea');
const { Store, dotnetTag } = require('./entities.js');

const types = rhea.types;
const amqpMessage = rhea.message;

function parseArgs(argv) {
  const o = { lockMs: 60000, maxDeliveryCount: 10, maxMessageSize: 262144, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--lock-ms': o.lockMs = Number(argv[++i]); break;
      case '--max-delivery-count': o.maxDeliveryCount = Number(argv[++i]); break;
      case '--max-message-size': o.maxMessageSize = Number(argv[++i]); break;
      case '--verbose': o.verbose = true; break;
      default: throw new Error('unknown argument ' + argv[i]);
    }
  }
  return o;
}

const args = parseArgs(process.argv.slice(2));
const log = (msg) => process.stderr.write('sbdouble: ' + msg + '\n');
const debug = (msg) => { if (args.verbose) log(msg); };

const store = new Store(deliver, debug, { lockDurationMs: args.lockMs, maxDeliveryCount: args.maxDeliveryCount });

// deliver sends rec, locked by lock, on link (a server sender, i.e. the client's receiver).
function deliver(link, rec, lock) {
  const m = rec.message;
  const out = Object.assign({}, m, {
    delivery_count: rec.deliveryCount,
    first_acquirer: rec.deliveryCount === 0,
    delivery_annotations: { 'x-opt-lock-token': types.wrap_uuid(lock.token) },
    message_annotations: Object.assign({}, m.message_annotations, {
      'x-opt-sequence-number': types.wrap_long(rec.seq),
      'x-opt-enqueued-time': new Date(rec.enqueued),
      'x-opt-locked-until': new Date(lock.lockedUntil),
    }),
  });
  if (rec.deadLetterSource) out.message_annotations['x-opt-deadletter-source'] = rec.deadLetterSource;
  const d = link.send(out, dotnetTag(lock.token));
  d.lockToken = lock.token.toString('hex');
  debug(`delivered sequence ${rec.seq} from ${link.sbQueue.path} (delivery count ${rec.deliveryCount})`);
}

// entityPath strips a leading sb://host/ that some clients put in link addresses.
function entityPath(address) {
  const a = String(address || '');
  const m = /^(?:sb|amqps?):\/\/[^/]+\/(.*)$/i.exec(a);
  return m ? m[1] : a;
}

function isRPCNode(path) {
  return path === '$cbs' || path === '$management' || /\/\$management$/i.test(path);
}

// echoAttach answers an attach with the terminus and settle modes the client asked for.
function echoAttach(link) {
  const ra = link.remote.attach;
  if (ra.source) link.set_source({ address: ra.source.address });
  if (ra.target) link.set_target({ address: ra.target.address });
  link.local.attach.snd_settle_mode = ra.snd_settle_mode;
  link.local.attach.rcv_settle_mode = ra.rcv_settle_mode;
}

// refuse answers an attach with a null terminus and detaches with an error, as Service Bus does
// for a missing entity.
function refuse(link, condition, description) {
  log(`refused link ${link.name}: ${description}`);
  link.close({ condition, description });
}

function notFound(context, path) {
  const host = (context.connection.remote.open && context.connection.remote.open.hostname) || 'localhost';
  return `The messaging entity 'sb://${host}/${path}' could not be found.`;
}

function hasSessionFilter(source) {
  const f = source && source.filter;
  return Boolean(f && Object.keys(f).some((k) => /session-filter/.test(k)));
}

function onSenderOpen(context) {
  const link = context.sender;
  const path = entityPath(link.remote.attach.source && link.remote.attach.source.address);
  if (isRPCNode(path)) {
    echoAttach(link);
    const replies = context.connection.replyLinks || (context.connection.replyLinks = new Map());
    replies.set(link.remote.attach.target && link.remote.attach.target.address, link);
    return;
  }
  const q = store.receiveSource(path);
  if (!q) return refuse(link, 'amqp:not-found', notFound(context, path));
  if (hasSessionFilter(link.remote.attach.source)) {
    return refuse(link, 'amqp:not-implemented', `sessions are not supported by the Service Bus test double (${path})`);
  }
  if (q.opts.requiresSession) {
    return refuse(link, 'amqp:not-allowed', `It is not possible for an entity that requires sessions to create a non-sessionful message receiver (${path}).`);
  }
  echoAttach(link);
  link.sbQueue = q;
  q.addLink(link);
}

function onReceiverOpen(context) {
  const link = context.receiver;
  const path = entityPath(link.remote.attach.target && link.remote.attach.target.address);
  if (isRPCNode(path)) {
    echoAttach(link);
    link.sbRPC = path;
  } else {
    const target = store.sendTarget(path);
    if (!target) return refuse(link, 'amqp:not-found', notFound(context, path));
    echoAttach(link);
    link.local.attach.max_message_size = args.maxMessageSize;
    link.sbTarget = target;
  }
  link.add_credit(1000);
}

function onMessage(context) {
  const link = context.receiver;
  const d = context.delivery;
  if (link.credit < 500) link.add_credit(1000 - link.credit);
  if (link.sbRPC) {
    d.update(true, amqpMessage.accepted().described());
    return answer(context, link.sbRPC === '$cbs' ? cbs(context.message) : management(context.message));
  }
  const err = store.accept(link.sbTarget, context.message);
  if (err) {
    d.update(true, amqpMessage.rejected({ error: { condition: 'amqp:not-allowed', description: err } }).described());
  } else {
    d.update(true, amqpMessage.accepted().described());
  }
}

function reply(status, description, body) {
  return { status, description, body };
}

function cbs(req) {
  const ap = req.application_properties || {};
  if (ap.operation !== 'put-token') return reply(400, `unknown $cbs operation ${ap.operation}`);
  debug(`accepted ${ap.type} token for ${ap.name}`);
  return reply(202, 'Accepted');
}

function lockTokens(body) {
  const tokens = (body && body['lock-tokens']) || [];
  return tokens.map((t) => Buffer.from(t).toString('hex'));
}

function management(req) {
  const op = (req.application_properties || {}).operation;
  const body = req.body || {};
  switch (op) {
    case 'com.microsoft:renew-lock': {
      const expirations = [];
      for (const t of lockTokens(body)) {
        const until = store.renew(t);
        if (!until) return reply(410, `The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue. (lock token ${t})`);
        expirations.push(until);
      }
      return reply(200, 'OK', { expirations: types.wrap_array(expirations.map((e) => e.getTime()), 0x83) });
    }
    case 'com.microsoft:update-disposition':
      return updateDisposition(body);
    default:
      log(`unsupported $management operation ${op}`);
      return reply(501, `operation ${op} is not supported by the Service Bus test double`);
  }
}

function updateDisposition(body) {
  const status = body['disposition-status'];
  const outcomes = {
    completed: { kind: 'complete' },
    abandoned: { kind: 'abandon', modify: body['properties-to-modify'] },
    defered: { kind: 'defer', modify: body['properties-to-modify'] },
    suspended: {
      kind: 'deadletter', reason: body['deadletter-reason'], description: body['deadletter-description'],
      extra: body['properties-to-modify'],
    },
  };
  const outcome = outcomes[status];
  if (!outcome) return reply(400, `unknown disposition-status ${status}`);
  for (const t of lockTokens(body)) {
    if (!store.settle(t, outcome)) return reply(410, `The lock supplied is invalid (lock token ${t}).`);
  }
  return reply(200, 'OK');
}

// answer sends r as the response to the request in context, on the link the client opened
// for the request's reply-to address.
function answer(context, r) {
  const req = context.message;
  const link = (context.connection.replyLinks || new Map()).get(req.reply_to);
  if (!link) {
    log(`no reply link for ${req.reply_to}; dropping response`);
    return;
  }
  link.send({
    correlation_id: req.message_id, to: req.reply_to,
    application_properties: { 'status-code': types.wrap_int(r.status), 'status-description': r.description },
    body: r.body === undefined ? null : r.body,
  });
}

// onOutcome applies the client's disposition of a delivered message and settles it, with the
// same outcome, or rejected with com.microsoft:message-lock-lost when the lock had expired.
function onOutcome(context) {
  const d = context.delivery;
  if (!d.lockToken || d.settled) return;
  const state = d.remote_state;
  const kind = state.constructor.composite_type;
  let outcome;
  let echo;
  switch (kind) {
    case 'accepted': outcome = { kind: 'complete' }; echo = amqpMessage.accepted(); break;
    case 'released': outcome = { kind: 'release' }; echo = amqpMessage.released(); break;
    case 'modified':
      outcome = { kind: state.undeliverable_here ? 'defer' : 'abandon', modify: state.message_annotations };
      echo = amqpMessage.modified({ delivery_failed: state.delivery_failed, undeliverable_here: state.undeliverable_here });
      break;
    case 'rejected': {
      const info = Object.assign({}, state.error && state.error.info);
      const reason = info.DeadLetterReason;
      const description = info.DeadLetterErrorDescription;
      delete info.DeadLetterReason;
      delete info.DeadLetterErrorDescription;
      outcome = { kind: 'deadletter', reason, description, extra: info };
      echo = amqpMessage.rejected();
      break;
    }
    default: return;
  }
  if (!store.settle(d.lockToken, outcome)) {
    echo = amqpMessage.rejected({ error: { condition: 'com.microsoft:message-lock-lost', description: 'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.' } });
  }
  debug(`${kind} on ${context.sender.sbQueue ? context.sender.sbQueue.path : '?'}`);
  d.update(true, echo.described());
}

function onLinkGone(context) {
  const link = context.sender;
  if (link && link.sbQueue) link.sbQueue.removeLink(link);
}

function startAMQP(ready) {
  const container = rhea.create_container({
    id: 'hookline-sbdouble', autosettle: false, autoaccept: false, treat_modified_as_released: false, credit_window: 0,
  });
  container.on('sender_open', onSenderOpen);
  container.on('receiver_open', onReceiverOpen);
  container.on('message', onMessage);
  ['accepted', 'released', 'modified', 'rejected'].forEach((e) => container.on(e, onOutcome));
  container.on('sendable', (context) => { if (context.sender.sbQueue) context.sender.sbQueue.pump(); });
  container.on('sender_draining', (context) => { if (context.sender.sbQueue) { context.sender.sbQueue.pump(); context.sender.set_drained(true); } });
  container.on('sender_close', onLinkGone);
  container.on('session_close', (context) => dropLinks((l) => l.session === context.session));
  ['connection_close', 'disconnected'].forEach((e) => container.on(e, (context) => {
    dropLinks((l) => l.connection === context.connection);
  }));
  container.on('error', (e) => log('error: ' + (e && e.message)));
  const server = container.listen({ port: 0, host: '127.0.0.1' });
  server.on('listening', () => ready(server.address().port));
}

// dropLinks detaches from every entity the links for which gone is true.
function dropLinks(gone) {
  for (const q of allQueues()) q.links = q.links.filter((l) => !gone(l));
}

function allQueues() {
  const out = [];
  for (const q of store.queues.values()) out.push(q, q.dlq);
  for (const t of store.topics.values()) for (const s of t.subs.values()) out.push(s, s.dlq);
  return out;
}

const control = require('./control.js');

let amqpPort = null;
let httpPort = null;
function announce() {
  if (amqpPort !== null && httpPort !== null) process.stdout.write(JSON.stringify({ amqp: amqpPort, http: httpPort }) + '\n');
}
startAMQP((p) => { amqpPort = p; announce(); });
const api = http.createServer((req, res) => control.handle(store, req, res));
api.listen(0, '127.0.0.1', () => { httpPort = api.address().port; announce(); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
