//! The ceiling for plugin/benches/http_load.sh: the smallest axum JSON handler, on the same stack
//! as host-demo, so the load script can say how close host-demo gets to what the stack allows.
//!
//! Usage: ceiling PORT

use axum::{Json, Router, routing::get};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(18181);
    let app = Router::new().route(
        "/api/v1/dags",
        get(|| async { Json(serde_json::json!({"dags": []})) }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("ceiling listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await
}
