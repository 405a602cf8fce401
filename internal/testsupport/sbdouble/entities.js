'use strict';
// Entities of the Service Bus test double: queues, topics, subscriptions and their dead-letter
// subqueues, with Service Bus peek-lock semantics. The AMQP wiring lives in double.js; this file
// knows messages only as rhea message objects and links only through deliver(link, rec).
//
// Semantics follow Microsoft's "Message transfers, locks, and settlement" and "Service Bus
// dead-letter queues" articles:
//   - a delivery locks the message for the entity's lock duration; complete removes it;
//   - abandon (AMQP modified) returns it with its delivery count + 1, lock expiry likewise;
//   - release (AMQP released) returns it without counting a delivery;
//   - defer (modified with undeliverable-here) sets it aside;
//   - dead-letter (AMQP rejected) moves it to <entity>/$DeadLetterQueue, as does reaching
//     MaxDeliveryCount, with the DeadLetterReason and DeadLetterErrorDescription properties;
//   - duplicate detection drops a message whose MessageId was sent within the window.

const crypto = require('crypto');

const DEFAULTS = { lockDurationMs: 60000, maxDeliveryCount: 10, duplicateDetectionMs: 0, requiresSession: false };

// newLockToken returns a random version 4 UUID (RFC 4122 byte order).
function newLockToken() {
  const b = crypto.randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return b;
}

// dotnetTag returns the lock token in .NET Guid byte order, as Service Bus puts it in the
// delivery tag.
function dotnetTag(uuid) {
  const t = Buffer.from(uuid);
  [[0, 3], [1, 2], [4, 5], [6, 7]].forEach(([i, j]) => { const x = t[i]; t[i] = t[j]; t[j] = x; });
  return t;
}

// SubQueue holds the messages of one receivable entity: a queue, a subscription or a
// dead-letter queue.
class SubQueue {
  constructor(store, path, opts, isDeadLetter) {
    this.store = store;
    this.path = path;
    this.opts = Object.assign({}, DEFAULTS, opts);
    this.available = []; // records, by sequence number
    this.deferred = new Map(); // sequence number -> record
    this.links = []; // attached receiving links (server senders)
    this.next = 0; // round-robin index into links
    this.timer = null;
    this.dlq = isDeadLetter ? null : new SubQueue(store, path + '/$DeadLetterQueue', { maxDeliveryCount: Infinity }, true);
    if (isDeadLetter) this.opts.maxDeliveryCount = Infinity;
  }

  enqueue(rec) {
    let i = this.available.length;
    while (i > 0 && this.available[i - 1].seq > rec.seq) i--;
    this.available.splice(i, 0, rec);
    this.pump();
  }

  addLink(link) { this.links.push(link); this.pump(); }
  removeLink(link) { this.links = this.links.filter((l) => l !== link); }

  // pump delivers available messages to links with credit, round robin.
  pump() {
    const now = Date.now();
    let wake = Infinity;
    for (let i = 0; i < this.available.length;) {
      const rec = this.available[i];
      if (rec.notBefore > now) { wake = Math.min(wake, rec.notBefore); i++; continue; }
      const link = this.pickLink();
      if (!link) break;
      this.available.splice(i, 1);
      this.lock(rec, link);
    }
    if (wake !== Infinity && !this.timer) {
      this.timer = setTimeout(() => { this.timer = null; this.pump(); }, wake - now);
    }
  }

  pickLink() {
    for (let n = 0; n < this.links.length; n++) {
      const link = this.links[(this.next + n) % this.links.length];
      if (link.sendable()) {
        this.next = (this.next + n + 1) % this.links.length;
        return link;
      }
    }
    return null;
  }

  lock(rec, link) {
    const token = newLockToken();
    const lock = { token, rec, queue: this, lockedUntil: Date.now() + this.opts.lockDurationMs };
    lock.timer = setTimeout(() => this.expire(lock), this.opts.lockDurationMs);
    this.store.locks.set(token.toString('hex'), lock);
    this.store.deliver(link, rec, lock);
  }

  expire(lock) {
    if (!this.store.locks.delete(lock.token.toString('hex'))) return;
    this.store.log(`lock expired on ${this.path}: sequence ${lock.rec.seq}`);
    this.returnCounted(lock.rec, 'MaxDeliveryCountExceeded', 'Message could not be consumed after ' + this.opts.maxDeliveryCount + ' delivery attempts.');
  }

  // returnCounted counts a failed delivery and makes rec available again, or dead-letters it
  // when it reached MaxDeliveryCount.
  returnCounted(rec, reason, description) {
    rec.deliveryCount++;
    if (this.dlq && rec.deliveryCount >= this.opts.maxDeliveryCount) {
      this.deadLetter(rec, reason, description);
    } else {
      this.enqueue(rec);
    }
  }

  deadLetter(rec, reason, description, extra) {
    if (!this.dlq) { this.enqueue(rec); return; } // a dead-letter queue has no dead-letter queue
    const props = Object.assign({}, rec.message.application_properties, extra || {});
    if (reason !== undefined) props.DeadLetterReason = reason;
    if (description !== undefined) props.DeadLetterErrorDescription = description;
    rec.message = Object.assign({}, rec.message, { application_properties: props });
    rec.deadLetterSource = this.path;
    this.store.log(`dead-lettered from ${this.path}: sequence ${rec.seq}, reason ${reason}`);
    this.dlq.enqueue(rec);
  }

  // snapshot describes the messages for the control API.
  snapshot() {
    const describe = (rec, state) => ({
      sequenceNumber: rec.seq, state, deliveryCount: rec.deliveryCount,
      messageId: rec.message.message_id, sessionId: rec.message.group_id,
      applicationProperties: rec.message.application_properties || {},
    });
    const out = this.available.map((r) => describe(r, 'available'));
    for (const lock of this.store.locks.values()) {
      if (lock.queue === this) out.push(describe(lock.rec, 'locked'));
    }
    for (const rec of this.deferred.values()) out.push(describe(rec, 'deferred'));
    return out.sort((a, b) => a.sequenceNumber - b.sequenceNumber);
  }

  close() {
    clearTimeout(this.timer);
    for (const [k, lock] of this.store.locks) {
      if (lock.queue === this || lock.queue === this.dlq) { clearTimeout(lock.timer); this.store.locks.delete(k); }
    }
  }
}

// Store holds every entity of the namespace. Names are case-insensitive, as in Service Bus.
class Store {
  constructor(deliver, log, defaults) {
    this.deliver = deliver;
    this.log = log;
    this.defaults = Object.assign({}, DEFAULTS, defaults);
    this.queues = new Map(); // lower-case name -> SubQueue (with .dedup)
    this.topics = new Map(); // lower-case name -> {name, opts, subs: Map, dedup}
    this.locks = new Map(); // lock token hex -> lock
    this.seq = 0;
  }

  createQueue(name, opts) {
    const key = name.toLowerCase();
    if (!this.queues.has(key) && !this.topics.has(key)) {
      const q = new SubQueue(this, name, Object.assign({}, this.defaults, opts), false);
      q.dedup = new Map();
      this.queues.set(key, q);
    }
    return this.queues.get(key);
  }

  createTopic(name, opts) {
    const key = name.toLowerCase();
    if (this.queues.has(key)) throw new Error(`a queue named ${name} exists`);
    if (!this.topics.has(key)) {
      this.topics.set(key, { name, opts: Object.assign({}, this.defaults, opts), subs: new Map(), dedup: new Map() });
    }
    return this.topics.get(key);
  }

  createSubscription(topic, name, opts) {
    const t = this.topics.get(topic.toLowerCase());
    if (!t) throw new Error(`no topic named ${topic}`);
    const key = name.toLowerCase();
    if (!t.subs.has(key)) {
      t.subs.set(key, new SubQueue(this, `${t.name}/Subscriptions/${name}`, Object.assign({}, this.defaults, opts), false));
    }
    return t.subs.get(key);
  }

  deleteEntity(path) {
    const parts = path.split('/');
    if (parts.length === 1) {
      const key = parts[0].toLowerCase();
      const q = this.queues.get(key);
      if (q) { q.close(); this.queues.delete(key); return true; }
      const t = this.topics.get(key);
      if (t) { t.subs.forEach((s) => s.close()); this.topics.delete(key); return true; }
      return false;
    }
    const t = this.topics.get(parts[0].toLowerCase());
    const s = t && parts.length === 3 && t.subs.get(parts[2].toLowerCase());
    if (!s) return false;
    s.close();
    t.subs.delete(parts[2].toLowerCase());
    return true;
  }

  // settle applies a receiver's outcome to the message locked with token. It returns false
  // when the lock is unknown or expired (the caller answers message-lock-lost).
  settle(tokenHex, outcome) {
    const lock = this.locks.get(tokenHex);
    if (!lock) return false;
    this.locks.delete(tokenHex);
    clearTimeout(lock.timer);
    const q = lock.queue;
    const rec = lock.rec;
    if (outcome.modify) {
      rec.message = Object.assign({}, rec.message, {
        application_properties: Object.assign({}, rec.message.application_properties, outcome.modify),
      });
    }
    switch (outcome.kind) {
      case 'complete': break;
      case 'release': rec.notBefore = Date.now() + 20; q.enqueue(rec); break;
      case 'abandon': q.returnCounted(rec, 'MaxDeliveryCountExceeded', 'Message was abandoned ' + q.opts.maxDeliveryCount + ' times.'); break;
      case 'defer': q.deferred.set(rec.seq, rec); break;
      case 'deadletter': q.deadLetter(rec, outcome.reason, outcome.description, outcome.extra); break;
      default: throw new Error('unknown outcome ' + outcome.kind);
    }
    return true;
  }

  renew(tokenHex) {
    const lock = this.locks.get(tokenHex);
    if (!lock) return null;
    clearTimeout(lock.timer);
    lock.lockedUntil = Date.now() + lock.queue.opts.lockDurationMs;
    lock.timer = setTimeout(() => lock.queue.expire(lock), lock.queue.opts.lockDurationMs);
    return new Date(lock.lockedUntil);
  }

  // sendTarget returns the queue or topic a sender may attach to, or null.
  sendTarget(path) {
    const key = path.toLowerCase();
    return this.queues.get(key) || this.topics.get(key) || null;
  }

  // receiveSource returns the SubQueue at path: "queue", "topic/Subscriptions/sub", each
  // optionally followed by "/$DeadLetterQueue"; or null.
  receiveSource(path) {
    let parts = path.split('/');
    let dead = false;
    if (parts.length > 1 && parts[parts.length - 1].toLowerCase() === '$deadletterqueue') {
      dead = true;
      parts = parts.slice(0, -1);
    }
    let q = null;
    if (parts.length === 1) {
      q = this.queues.get(parts[0].toLowerCase()) || null;
    } else if (parts.length === 3 && parts[1].toLowerCase() === 'subscriptions') {
      const t = this.topics.get(parts[0].toLowerCase());
      q = (t && t.subs.get(parts[2].toLowerCase())) || null;
    }
    return q && dead ? q.dlq : q;
  }

  // accept stores a sent message in target (a queue or topic). It returns an error string
  // when Service Bus would refuse the message, else null.
  accept(target, message) {
    const opts = target.opts;
    if (opts.requiresSession && !message.group_id) {
      return `The SessionId was not set on a message, and it cannot be sent to an entity that has sessions enabled (${target.name || target.path}).`;
    }
    const now = Date.now();
    if (opts.duplicateDetectionMs > 0 && message.message_id !== undefined) {
      const id = String(message.message_id);
      for (const [k, t] of target.dedup) if (now - t > opts.duplicateDetectionMs) target.dedup.delete(k);
      if (target.dedup.has(id)) { this.log(`duplicate message id ${id} dropped`); return null; }
      target.dedup.set(id, now);
    }
    const ann = message.message_annotations || {};
    const scheduled = ann['x-opt-scheduled-enqueue-time'];
    const rec = { seq: ++this.seq, message, deliveryCount: 0, enqueued: now, notBefore: scheduled instanceof Date ? scheduled.getTime() : 0 };
    if (target.subs) {
      for (const sub of target.subs.values()) sub.enqueue(Object.assign({}, rec));
    } else {
      target.enqueue(rec);
    }
    return null;
  }
}

module.exports = { Store, SubQueue, dotnetTag, DEFAULTS };
