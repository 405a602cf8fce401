// Package dataverse is a sink.Sink that writes Stripe objects to Microsoft Dataverse (Dynamics 365,
// Power Platform) through the Web API (OData v4, /api/data/v9.2/): by default each Stripe customer
// becomes one contact, created or updated by an alternate key that holds the Stripe id, never
// duplicated, never overwritten by an older event.
//
// # URLs
//
// [Open] and, after importing this package, [sink.Open] accept
//
//	dataverse://org.crm.dynamics.com?key=new_stripecustomerid&eventtime=new_stripeeventcreated
//
// where the host is the environment's (Power Platform admin center, Environments, Environment
// URL). Query parameters, each at most once; any other is an error:
//
//	key          required: logical name of the text column that has the alternate key
//	eventtime    required: logical name of the Date and Time column for the event's time
//	eventid      logical name of a text column for "<event id> <event type>" (recommended)
//	entityset    entity set to write, default contacts; e.g. new_payments for a custom table
//	mode         upsert (default) or createonly
//	delete       deactivate (default) or hard
//	concurrency  requests in flight, 1 to 52, default 16 (fewer when Dataverse recommends fewer)
//	batch        operations per $batch request, 1 to 1000, default 25 (1: no $batch)
//	bypass       business logic to skip: any of sync, async, flows, comma-separated (below)
//	endpoint     base URL to send requests to instead of https://<host> (a proxy, a test double);
//	             https, or http only to 127.0.0.0/8, ::1 or localhost
//
// Credentials, for a sink opened by URL without [Options.Credential] or [Options.Token]: the
// environment variable DATAVERSE_TOKEN if set (a static bearer token, for development; it is never
// refreshed), otherwise azidentity.NewDefaultAzureCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID and
// AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH), workload identity, managed identity, the
// Azure CLI. Tokens are requested for the scope https://<host>/.default (the host of the URL, also
// when endpoint is set) and cached until three minutes before they expire.
//
// # Setup
//
// Once per environment, `hookline dataverse setup` (it calls [Sink.Setup]) creates through the
// metadata Web API what the sink and the routes' mappings need on the table:
//
//   - the key column (key=): Text, 100 characters, with an alternate key on it; setup waits
//     until Dataverse has built the key's index (status Active), which takes from seconds to
//     minutes on a large table;
//   - the event-time column (eventtime=): Date and time, format Date and time, behavior Time
//     zone independent (the sink writes UTC, e.g. 2024-03-01T12:00:00Z);
//   - the event-id column (eventid=, recommended): Text, 100 characters;
//   - mapped columns the table lacks whose logical name has your publisher's prefix (that of
//     key=, eventtime= or eventid=, or of the table's custom columns, e.g. new_), typed from
//     what the mapping writes: text is Text (4000 characters), integer Whole number, decimal
//     Decimal number (2 decimal places), bool Yes/no, time Date and time.
//
// It never creates tables, standard columns, lookups or choices, never changes a column that
// exists, and a second run creates nothing; its dry run lists what it would create. What it
// cannot fix it reports as `hookline check` does (below). The columns get the logical names
// of the URL and the mapping (e.g. new_stripecustomerid, new_stripeeventcreated,
// new_stripeeventid), so choose them before the first run. A Whole number holds up to
// 2,147,483,647: for larger integers create a Big integer or Decimal column yourself. Setup
// needs credentials with customization privileges (System Customizer or System Administrator,
// e.g. your own account through the Azure CLI); the columns go into the default solution.
//
// By hand instead, in the Power Apps maker portal (make.powerapps.com, your environment):
// Tables, the table, Columns, New column for each column above (note the logical names); then
// Keys, New key on the key column, and wait until its status is Active.
//
// Then, once per app (this stays manual: it grants access, which hookline does not do):
//
//  1. Microsoft Entra admin center, App registrations, New registration; under Certificates &
//     secrets add a client secret. Note the tenant id, the application (client) id and the secret.
//  2. Power Platform admin center, Environments, your environment, Settings, Users + permissions,
//     Application users, New app user: pick the app, the business unit, and a security role
//     that can read, create and write rows of the table (and delete them for delete=hard): a
//     custom role with just those privileges on it, or for a trial "Basic User" plus contact
//     write. Without this step every request answers 401 or 403, and the sink's error says so.
//  3. Run with AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and
//     HOOKLINE_SINK=dataverse://<org>.crm.dynamics.com?key=...&eventtime=...&eventid=...
//     On Azure, use a managed identity or workload identity instead of the secret.
//
// For another table (entityset=), create the table in the maker portal, give the sink a
// mapping ([Options.Map]; see the payment intent example), and run the setup for it.
//
// # Checks
//
// `hookline check`, and every start, read the table's definition before the first event
// ([Sink.Check], given the columns the routes map as [Want] values, whose [Kind] comes from
// each CEL expression's output type through [KindOfCEL]). A configuration that can never work
// is refused with every [Problem] at once, each naming the column, the line of the mapping,
// what is wrong and what to change:
//
//   - no table has the entity set name (and the right one when a table's logical name was
//     given);
//   - a mapped column is missing, or its type does not fit what is mapped: text goes into Text
//     or Multiple lines of text; an integer into Whole number, Big integer, Decimal, Floating
//     point, Currency, Choice, Status or Status reason; a decimal into Decimal, Floating point
//     or Currency; true or false into Yes/no; a time into Date and time; null and values typed
//     only at run time (dyn) into any column but a lookup; a lookup only through
//     "<navigation property>@odata.bind" with text such as "/accounts(<id>)", whose navigation
//     property must exist;
//   - the key column is missing or not Text, has no alternate key of its own, or the key's
//     index is not Active (Pending or InProgress: wait; Failed: usually rows share a value:
//     remove the duplicates, delete the key and run the setup again);
//   - the event-time column is missing, not Date and time, or keeps the date only; the
//     event-id column is missing, not text, or shorter than 100 characters; statecode or
//     statuscode is missing while delete=deactivate.
//
// Text longer than a column's maximum length, numbers out of a column's range and unknown
// choice values can only fail at run time, as Permanent errors naming the column.
//
// # Delivery semantics
//
// Write applies the order of [sink.Version] to the stored row, with optimistic concurrency:
//
//   - It knows the row's ETag and the version of the event that last wrote it: from its
//     memory of the rows it last read or wrote ([Options.CacheRows], default 100,000, least
//     recently used first out), or else by reading the row by alternate key: GET
//     contacts(new_stripecustomerid='cus_123') selecting the event-time, event-id and statecode
//     columns, and its ETag.
//   - No row: it creates one with PATCH and If-None-Match: * (an upsert that cannot update).
//   - A row written by an event that is not older: nothing (a redelivery costs no request when
//     the sink remembers the row, one read otherwise).
//   - Otherwise it writes with PATCH and If-Match: <ETag>, which fails with 412 if anyone changed
//     the row since (another replica, a person, a flow). On 412 it forgets the row, reads it
//     again and decides again, up to 8 times, then returns a Transient error. Concurrent
//     writers (goroutines, replicas) thus converge on the newest event.
//   - Every write asks for the row back (Prefer: return=representation with the same
//     $select), so the sink remembers its new ETag: in the steady state an event that changes
//     a row costs one request; after a restart, or when someone else wrote the row, two or
//     three.
//
// The memory never decides against the row: it only saves the read before a conditional
// write, and a version it remembers is never newer than the row's (versions only grow), so an
// event it skips is one the row already has or has something newer than.
//
// Only the mapped columns are sent: a column the mapping leaves out keeps its value, so people
// and other processes may own other columns of the row. With mode=createonly a write is one
// PATCH with If-None-Match: *; if the row exists (412) it is left alone and the write is done.
//
// Ties. Dataverse stores the event time in whole seconds, as Stripe sends it. With the event-id
// column, the stored "<id> <type>" gives the action and id of the last event (for an event whose
// action its type does not name, or whose time is finer than a second, as a Standard Webhooks
// sender's is: "<id> <type> <action> <nanoseconds>"), and events are ordered exactly as
// sink.Version orders them (by time at the source's precision, then created, updated, deleted,
// then by id). Without it, within one second: a creation never overwrites, a deletion
// overwrites an active row, any other event overwrites a row that is not inactive (the last to
// arrive wins), and a redelivery writes again (two requests, the same values).
//
// Deletes. An event that deletes its subject (Event.Action "deleted"; for Stripe, a *.deleted
// type) with delete=deactivate writes the mapped columns and statecode 1, statuscode 2
// (Inactive) under the same ordering rule, so an older update arriving later is ignored and does
// not reactivate the contact; a deletion that arrives first creates the row inactive. Only a
// newer event about an object this sink itself deactivated (known from the event-id column) sets
// statecode 0, statuscode 1 again; contacts deactivated by people stay inactive. With
// delete=hard the row is deleted (DELETE with If-Match; already gone counts as done); nothing
// remembers the deletion, so an older update redelivered afterwards creates the row again:
// prefer deactivate.
//
// Results. The sink is a [sink.Applier]: [Sink.Apply] writes as Write does and reports
// [sink.Stored] when a PATCH or DELETE of the event succeeded, and [sink.Ignored] when none did
// because the row was written by an event that is not older (the read above, a redelivery
// included), a hard delete found the row already gone (on the read or as the DELETE's 404), or
// with mode=createonly the row existed (412). Because every write is conditional, of several
// writers of one event at most one is told Stored. Without the event-id column the stored
// version has no id, so a redelivery of an event other than a *.created writes the same values
// again and is reported Stored (see Ties).
//
// Mapping. [MapCustomer] is the default mapping and documents the columns; a field present in
// the Stripe object is written, and null clears its column.
//
// # Batches
//
// The sink is a [sink.BatchApplier]: the consumer loop hands it the events it received
// together (package channel, pipeline.Config.BatchSize), and [Sink.ApplyBatch] writes them with
// the rules above, in rounds: the reads of the rows it does not remember, then one conditional
// write per event that changes its row. Each round's requests go in $batch requests ("Execute
// batch operations using the Web API") of up to [Options.BatchSize] operations (default
// [DefaultBatchSize]; the operations are spread evenly over as few batches as that allows, sent
// concurrently), with Prefer: odata.continue-on-error, so that one failing operation does not
// stop the others; each operation's response is mapped back to its event, and a round with a
// single request sends it alone. Of several events about one row in a batch only the newest is
// written; the others are Ignored (or given its error). A batch counts as one request against
// the 6,000 per 5 minutes, and each of its operations against the execution time.
//
// # Limits
//
// Dataverse's service protection limits apply per user (the application user) and per web
// server over a sliding 5 minutes: 6,000 requests, 1,200 s of combined execution time, and 52
// concurrent requests. The sink acts as one client towards them:
//
//   - It keeps at most [Options.MaxConcurrency] requests in flight, and no more than the
//     degree of parallelism Dataverse recommends in the x-ms-dop-hint header of its responses
//     (its first request goes alone, to learn it). Several processes add up: give each a share.
//   - On 429 it pauses all of its requests, not only the refused one, for the response's
//     Retry-After (seconds or an HTTP date; 5 s when absent), halves its concurrency (at most
//     once a second; it grows back by one per that many successful requests), and sends the
//     refused request again, up to 3 times. Then, or when Retry-After is longer than a minute,
//     it returns a Transient error carrying Retry-After ([hookline.WithRetryAfter]) so that the
//     consumer waits at least that long.
//   - Its default client keeps no cookies, so the ARRAffinity cookie Dataverse sets does not
//     pin all of its requests to one web server. An [Options.HTTPClient] with a cookie jar
//     would.
//
// # Bypassing business logic
//
// For bulk loads, bypass= (or [Options.Bypass]) asks Dataverse to skip custom business logic
// for the sink's writes ("Bypass custom Dataverse logic", "Bypass Power Automate flows"):
//
//   - bypass=sync sends MSCRM.BypassBusinessLogicExecution: CustomSync (synchronous plug-ins
//     and real-time workflows), bypass=async CustomAsync (asynchronous plug-ins and
//     workflows), both CustomSync,CustomAsync. The application user needs the
//     prvBypassCustomBusinessLogic privilege (System Administrators have it; otherwise add it
//     to the user's security role), or every write fails with 403.
//   - bypass=flows sends MSCRM.SuppressCallbackRegistrationExpanderJob: true: Power Automate
//     flows triggered by the rows' changes do not run, and their owners are not told.
//
// Business logic that people rely on (validation, numbering, notifications) is skipped as
// well: bypass only what you know the data does not need.
//
// # Errors
//
// Errors start with "dataverse: ", name the request and the event, and carry a hookline code
// (those of Check and Setup name the request; Setup's leftover problems are a [ProblemsError]):
//
//   - Permanent: an event without subject, id or time; a mapping error; 400 and other 4xx not
//     listed below (Dataverse validation errors, a column the table lacks (400, 0x80060888,
//     "The property 'x' does not exist on type ..."), a missing table (404 with
//     0x8006088a), 405, 413, 422). The error text has Dataverse's error code and message
//     ({"error":{"code":"0x80040203","message":"..."}}), so the dead-letter reason says what
//     to fix.
//   - Transient: 408, 409, 429 (with RetryAfter), 5xx (503 with Retry-After carries it), network
//     errors, a row that kept changing during 8 attempts.
//   - Unknown (retried like Transient, never dead-lettered): 401 after one token refresh, with a
//     message naming the likely cause (no application user, or no security role, in that
//     environment); 403 (a missing privilege: fix the role and the events go through); a
//     credential that cannot get a token; other statuses.
//   - 412 is not an error: it drives the re-read above. 404 of a row is an absent row.
//
// When ctx ends first, Write returns ctx.Err() itself, not wrapped.
//
// # Security
//
// Requests go over https; plain http only to loopback, for tests. Tokens are sent only in the
// Authorization header, never follow a redirect (the default client does not follow them), and
// appear in no error and no log record. Response bodies are read up to 1 MiB. Stripe ids are
// put into URLs as OData string literals (quotes doubled, percent-encoded), and column and
// entity set names must be logical names (letters, digits, underscore), so events cannot
// change which row or table a request addresses. Give the application user a role with the
// least privileges it needs (step 2 of the application's setup); only the setup needs
// customization privileges.
//
// # Testing
//
// No Dataverse emulator exists. The tests of this package, and of the examples that write to
// Dataverse, run against package dataversetest, an in-repo double of the documented Web API
// (alternate keys, upsert, If-Match and If-None-Match, ETags, return=representation, $batch,
// error bodies, the service protection limits with their 429s, Retry-After and x-ms-dop-hint,
// bearer tokens, added latency, and table definitions: columns, keys and their index jobs, the
// metadata reads and creations Check and Setup use); use it for tests of your own mappings
// too.
package dataverse
