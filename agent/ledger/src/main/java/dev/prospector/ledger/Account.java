package dev.prospector.ledger;

/** One account of the shard as stored: balance and stake in the smallest unit, and its nonce. */
public record Account(Address address, long balance, long stake, long nonce) {}
