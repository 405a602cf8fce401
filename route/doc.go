// Package route reads routes from a configuration file and runs them: which events go to which
// sink, and with which values. Everything that can be checked before the first event is checked
// when the file is read ([Load], [Parse]) and compiled ([CompileAll]): a configuration that can
// never work never accepts an event.
//
//	cfg, err := route.Load(os.Getenv("HOOKLINE_CONFIG"), nil) // nil: os.LookupEnv
//	routes, err := route.CompileAll(cfg)
//	...
//	e := route.NewEvent(ev) // once per event, shared by every route
//	for _, r := range routes {
//		ok, err := r.Match(e)             // types, then filter
//		vals, err := r.Values(e)          // column -> value, when the route has a map
//		list, err := r.AppendValues(l, e) // or the values in the order of r.Columns()
//	}
//
// # Configuration file
//
// A YAML file of routes; route/hookline.schema.json is its JSON Schema (draft 2020-12), for
// editors and checks:
//
//	routes:
//	  - name: contacts                 # required, unique, [a-z0-9_-]+
//	    types: ["customer.*"]          # optional: exact types, prefix wildcards, "*"; default all
//	    filter: event.data.livemode == true   # optional: a CEL expression giving bool
//	    sink: dataverse://org.crm.dynamics.com?key=new_stripecustomerid&entityset=contacts
//	    map:                           # optional: column -> CEL expression, in file order
//	      emailaddress1: event.data.email
//	      firstname: event.data.name.split(' ')[0]
//	  - name: everything
//	    sink: sqlite://hookline.db
//
// The rules, each broken one an error with its file:line:col (all of them at once, joined):
//   - The file holds one YAML document, a mapping whose only key is routes: a non-empty list.
//   - A route is a mapping with the keys name, types, filter, sink and map; any other key is an
//     error naming the known ones, and so is a key given twice. name and sink are required.
//   - name, filter, sink and each expression of map are strings; a bare number, boolean or null
//     is not (quote it). None may be empty. Names match [a-z0-9_-]+ and are unique in the file.
//   - types is a non-empty list of event types ("customer.created"), prefix wildcards
//     ("customer.*", matching every type that starts with "customer.") or "*", in printable
//     ASCII without spaces: the selection of emitter.Types.
//   - map is a non-empty mapping of column names to expressions; a column appears once.
//   - YAML anchors and aliases may share values; a merge key (<<) is an unknown key.
//
// Before any of these checks, every string value but a route's name has its ${VAR} references
// replaced by the environment variable's value, so that secrets stay out of the file: sink:
// "dataverse://${DATAVERSE_HOST}?...". A variable that is not set is an error naming it and its
// position (a variable set to the empty string is taken as it is); "$${" stands for a literal
// "${". The replacement happens in the parsed value, so a value cannot inject YAML structure.
// The JSON Schema checks the file as written, before variables are replaced; apart from that,
// the schema and [Parse] accept the same files, except that the schema cannot see that two
// routes have one name (a test holds them to it).
//
// # Expressions
//
// Filters and mapped columns are expressions in CEL, the Common Expression Language of
// Kubernetes and Envoy (https://cel.dev), compiled and type-checked once, when the routes are.
// Their one variable, event, has these fields, named as CloudEvents names its attributes:
//
//	event.id        string     the event's id ("evt_...")
//	event.source    string     the source that verified it ("stripe")
//	event.type      string     its type ("customer.updated")
//	event.subject   string     the id of the object it is about ("cus_...")
//	event.object    string     that object's type ("customer")
//	event.action    string     "created", "updated", "deleted", or "" (counts as updated)
//	event.time      timestamp  when the source created it
//	event.metadata  map(string, string)   further attributes ("livemode", "apiversion", ...)
//	event.data      dyn        the payload (for Stripe, data.object) read as JSON
//
// A field that does not exist (event.idd) is a compile error; has(event.f) is true when the
// field is set (not empty; for data, when the event has data). event.data is read as CEL reads
// JSON (google.protobuf.Value): an object as a map with string keys, an array as a list, a
// string, a number as a double (so int(event.data.created) for an integer, with
// timestamp(int(...)) for Stripe's Unix times), true or false, null. A repeated name in an object
// counts as its last occurrence, as in encoding/json. An event without data has data == null;
// an expression that reads data that is not valid JSON fails. Reading a member the payload lacks
// fails on that event (see Errors): write has(event.data.phone), event.data.?phone (an optional)
// or event.data.?phone.orValue("") where a member may be missing.
//
// Besides CEL's standard library (with timestamps in UTC unless a function is given a time
// zone, and comparisons across int, uint and double), expressions have cel-go's extensions:
// strings (split, lowerAscii, replace, format, ...), encoders (base64), math (math.greatest,
// math.round, ...), lists (slice, flatten, sort, ...), sets (sets.contains, ...), regex
// (regex.extract, ...), bindings (cel.bind) and optional values (?. and [?], optional.of,
// orValue).
//
// A filter gives a bool (an expression that reads event.data may give anything, and then fails
// on an event where it is not a bool). Each mapped column has a static [Kind], which a sink
// compares with its column's type before the first event ([Route.Columns]). An expression whose
// type no column holds (bytes, a duration, the event itself) is a compile error.
//
// # Errors
//
// Every error of this package starts with "route: ". Errors of the file and of compilation name
// the position of the value at fault, file:line:col; a compile error also gives CEL's position
// within the expression:
//
//	route: hookline.yaml:7:5: unknown key "filtr" in route "contacts" (known: name, types, filter, sink, map)
//	route: hookline.yaml:9:20: route "contacts": column "firstname": undefined field 'nme' (at column 12 of the expression)
//
// An expression that fails on an event (it reads a member the payload lacks, converts a value of
// the wrong type, divides by zero) makes [Route.Match] or [Route.Values] return an [*EvalError]
// naming the route, the column and the expression's position, marked [hookline.Permanent]: the
// event will fail the same way every time, so the consumer dead-letters it.
//
// # Performance
//
// Expressions are compiled once; a [Route] and an [Event] are safe for concurrent use. The
// payload is not decoded as a whole: the first expression that reads event.data validates it
// and indexes its top-level members in one scan (internal/jsonscan), an object member is indexed
// the first time it is read, and only the values an expression reads are decoded. One [Event]
// serves every route, so what one route read the next finds indexed. A mapped column that only
// selects (event.subject, event.data.address.city) is read straight from the index, without the
// interpreter; the others run cel-go's interpreter.
//
// On the 2-core machine of BENCHMARKS.md, with a Stripe customer event whose data.object is 1.5 KB
// of pretty-printed JSON and a route with a filter and ten mapped columns (six selections, two
// splits, two conversions):
//
//	BenchmarkEventIndex          2.7 µs    9 allocs  per event: NewEvent, validate and index data
//	BenchmarkRouteSharedEvent    2.5 µs   32 allocs  per route, on an event another route indexed
//	BenchmarkRouteAppendValues   6.8 µs   47 allocs  one route, one event, values in a slice
//	BenchmarkRoute               7.6 µs   51 allocs  the same with Values' map
//
// So one route costs about 7 µs an event, and each further route on the same event about 2.5 µs:
// the first also validates and indexes the payload (jsonscan's scan of it is 1.7 µs, a third of
// which skips white space) and the objects it reads in it.
package route
