//! The request timeout: a request not answered within the limit (a slow handler, or a client
//! that trickles its body, slowloris-style) gets `408 Request Timeout`.
//!
//! Like `tower_http::timeout::TimeoutLayer`, except that the timer is made only once the request
//! has had to wait. Most requests never do (an Akismet check's body arrives with its headers, the
//! answer is computed in memory), and making and dropping a Tokio timer per request cost a fifth
//! of a bare axum handler's throughput on this project's 2-core machines (`bare_axum
//! --layers=timeout`, benches/README.md). The deadline then counts from the request's first wait
//! rather than its start: later by the time of one poll, microseconds.

use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// Answers 408 to requests that take longer than the timeout.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeoutLayer {
    timeout: Duration,
}

impl RequestTimeoutLayer {
    /// A layer with this limit.
    pub fn new(timeout: Duration) -> Self {
        RequestTimeoutLayer { timeout }
    }
}

impl<S> tower_layer::Layer<S> for RequestTimeoutLayer {
    type Service = RequestTimeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestTimeout {
            inner,
            timeout: self.timeout,
        }
    }
}

/// The service [`RequestTimeoutLayer`] wraps around an inner one.
#[derive(Debug, Clone)]
pub struct RequestTimeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S, B> tower_service::Service<Request<B>> for RequestTimeout<S>
where
    S: tower_service::Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        TimeoutFuture {
            inner: self.inner.call(request),
            sleep: None,
            timeout: self.timeout,
        }
    }
}

pin_project! {
    /// The inner service's answer, or 408 once the timeout has passed since it first waited.
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Option<Sleep>,
        timeout: Duration,
    }
}

impl<F, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(answer) = this.inner.poll(cx) {
            return Poll::Ready(answer);
        }
        if this.sleep.is_none() {
            this.sleep.set(Some(tokio::time::sleep(*this.timeout)));
        }
        match this.sleep.as_pin_mut().map(|sleep| sleep.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Ok(StatusCode::REQUEST_TIMEOUT.into_response())),
            _ => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_layer::Layer;
    use tower_service::Service;

    /// A service that answers at once, or after `delay`.
    #[derive(Clone)]
    struct Answer(Option<Duration>);

    impl Service<Request<()>> for Answer {
        type Response = Response;
        type Error = std::convert::Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Response, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<()>) -> Self::Future {
            let delay = self.0;
            Box::pin(async move {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                Ok(StatusCode::OK.into_response())
            })
        }
    }

    async fn status(delay: Option<Duration>, timeout: Duration) -> StatusCode {
        let mut service = RequestTimeoutLayer::new(timeout).layer(Answer(delay));
        match service.call(Request::new(())).await {
            Ok(response) => response.status(),
            Err(never) => match never {},
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_the_limit_gets_408_and_others_their_answer() {
        let limit = Duration::from_secs(30);
        assert_eq!(status(None, limit).await, StatusCode::OK);
        assert_eq!(
            status(Some(Duration::from_secs(29)), limit).await,
            StatusCode::OK
        );
        assert_eq!(
            status(Some(Duration::from_secs(31)), limit).await,
            StatusCode::REQUEST_TIMEOUT
        );
    }
}
