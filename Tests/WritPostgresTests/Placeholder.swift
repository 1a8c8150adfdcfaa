import Testing

@Test func postgresAdapterBuilds() {}
