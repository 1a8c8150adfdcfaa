import Testing

@Test func httpAdapterBuilds() {}
