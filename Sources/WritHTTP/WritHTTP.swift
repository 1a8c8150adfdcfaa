// WritHTTP: the HTTP binding (Docs/HTTPBinding.md) and its client, built only with the `HTTP` package trait.
#if HTTP
internal import AsyncHTTPClient
#endif
