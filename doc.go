// Package tether holds Tether's domain: the types every other package speaks
// (connections, their errors and resources, provider definitions, events, API
// keys), their validation, the Error type, and the interfaces the services need
// from a store. It imports the standard library only; adapters (sqlite,
// postgres, outbound, api, web, ...) depend on it, never the other way round.
package tether
