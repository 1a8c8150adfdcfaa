// WritHummingbird: the Gatekeeper middleware and Writ's servers on Hummingbird, built only with the `HTTP` trait.
#if HTTP
internal import Hummingbird
#endif
