//! The test support itself: what would let a broken test pass.

use crate::support::cmd::Areq;
use crate::support::server::{Reply, TestServer};

#[test]
#[should_panic(
    expected = "a test server handler panicked: GET /checked: assertion `left == right` failed: the handler's own check"
)]
fn an_assertion_failing_inside_a_server_handler_fails_the_test() {
    let server = TestServer::start(|request| {
        assert_eq!(request.path, "/other", "the handler's own check");
        Reply::html("")
    });
    let areq = Areq::new();
    areq.input(&[server.url("/checked")]);
    let run = areq.run(&["urls.txt", "-o", "out.tsv", "--retries", "0", "-q"]);
    assert_eq!(run.code(), 0, "the page failed with a 500, the run went on");
    drop(server);
}
