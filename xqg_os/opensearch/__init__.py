"""OpenSearch side of xqg-os: client factory, index lifecycle, bulk writer, k-NN search."""
