//! A gRPC test service without generated code: hand-written prost messages,
//! tonic's server core behind hyper, and tonic's client core on a hyper
//! HTTP/2 connection.
//!
//! `test.Echo/Unary` answers `hello NAME`, or fails with NOT_FOUND and an
//! `x-reason` trailer when `fail` is set. `test.Echo/Stream` sends `count`
//! messages, then ends OK, or with ABORTED (and `x-reason`) when `fail` is
//! set. Every trailers frame the server sends also carries
//! `x-trailer: METHOD`, custom trailer metadata on a successful call.

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream;
use http_body::{Body, Frame};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use tonic_prost::ProstCodec;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Req {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(uint32, tag = "2")]
    pub count: u32,
    #[prost(bool, tag = "3")]
    pub fail: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Reply {
    #[prost(string, tag = "1")]
    pub text: String,
}

fn failure(code: Code, why: &str) -> Status {
    let mut md = MetadataMap::new();
    md.insert("x-reason", why.parse().unwrap());
    Status::with_metadata(code, why, md)
}

struct Unary;

impl tower_service::Service<tonic::Request<Req>> for Unary {
    type Response = tonic::Response<Reply>;
    type Error = Status;
    type Future = Ready<Result<Self::Response, Status>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::Request<Req>) -> Self::Future {
        let r = req.into_inner();
        ready(if r.fail {
            Err(failure(Code::NotFound, "no such name"))
        } else {
            Ok(tonic::Response::new(Reply {
                text: format!("hello {}", r.name),
            }))
        })
    }
}

type Replies = stream::Iter<std::vec::IntoIter<Result<Reply, Status>>>;

struct Streaming;

impl tower_service::Service<tonic::Request<Req>> for Streaming {
    type Response = tonic::Response<Replies>;
    type Error = Status;
    type Future = Ready<Result<Self::Response, Status>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::Request<Req>) -> Self::Future {
        let r = req.into_inner();
        let mut items: Vec<Result<Reply, Status>> = (0..r.count)
            .map(|i| {
                Ok(Reply {
                    text: format!("{} #{i}", r.name),
                })
            })
            .collect();
        if r.fail {
            items.push(Err(failure(Code::Aborted, "stream cut")));
        }
        ready(Ok(tonic::Response::new(stream::iter(items))))
    }
}

/// Adds `x-trailer: METHOD` to the trailers frame of a response body.
pub struct Tagged {
    inner: tonic::body::Body,
    method: &'static str,
}

impl Body for Tagged {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let method = self.method;
        Pin::new(&mut self.inner).poll_frame(cx).map(|f| {
            f.map(|r| {
                r.map(|frame| match frame.into_trailers() {
                    Ok(mut t) => {
                        t.insert("x-trailer", method.parse().unwrap());
                        Frame::trailers(t)
                    }
                    Err(frame) => frame,
                })
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

async fn route(req: http::Request<Incoming>) -> Result<http::Response<Tagged>, Infallible> {
    let codec = ProstCodec::<Reply, Req>::default();
    let mut grpc = tonic::server::Grpc::new(codec);
    let (method, resp) = match req.uri().path() {
        "/test.Echo/Unary" => ("unary", grpc.unary(Unary, req).await),
        "/test.Echo/Stream" => ("stream", grpc.server_streaming(Streaming, req).await),
        _ => ("none", Status::unimplemented("no such method").into_http()),
    };
    Ok(resp.map(|inner| Tagged { inner, method }))
}

/// Serves the test service on 127.0.0.1:0: h2c, or h2 over TLS with
/// `tls` (whose ALPN should offer h2).
pub async fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let builder = auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    None => builder
                        .serve_connection(TokioIo::new(stream), service_fn(route))
                        .await
                        .ok(),
                    Some(a) => match a.accept(stream).await {
                        Ok(s) => builder
                            .serve_connection(TokioIo::new(s), service_fn(route))
                            .await
                            .ok(),
                        Err(_) => None,
                    },
                };
            });
        }
    });
    addr
}

/// A tonic channel: one hyper HTTP/2 connection.
#[derive(Clone)]
pub struct Channel(hyper::client::conn::http2::SendRequest<tonic::body::Body>);

type Call = Pin<Box<dyn Future<Output = hyper::Result<http::Response<Incoming>>> + Send>>;

impl tower_service::Service<http::Request<tonic::body::Body>> for Channel {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = Call;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<hyper::Result<()>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Call {
        Box::pin(self.0.send_request(req))
    }
}

/// A gRPC client on an HTTP/2 connection over `io` (h2c or TLS), sending
/// `origin` as scheme and authority.
pub async fn client<I>(io: I, origin: &str) -> tonic::client::Grpc<Channel>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .unwrap();
    tokio::spawn(conn);
    tonic::client::Grpc::with_origin(Channel(send), origin.parse().unwrap())
}

/// An h2c gRPC client to `addr`.
pub async fn h2c_client(addr: std::net::SocketAddr) -> tonic::client::Grpc<Channel> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    client(tcp, &format!("http://grpc.test:{}", addr.port())).await
}

pub async fn unary(
    grpc: &mut tonic::client::Grpc<Channel>,
    req: Req,
) -> Result<tonic::Response<Reply>, Status> {
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/test.Echo/Unary");
    grpc.unary(
        tonic::Request::new(req),
        path,
        ProstCodec::<Req, Reply>::default(),
    )
    .await
}

/// The messages of a server-streaming call, then how it ended: its
/// trailers, or the error status.
pub async fn server_stream(
    grpc: &mut tonic::client::Grpc<Channel>,
    req: Req,
) -> (Vec<String>, Result<MetadataMap, Status>) {
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/test.Echo/Stream");
    let codec = ProstCodec::<Req, Reply>::default();
    let mut stream = match grpc
        .server_streaming(tonic::Request::new(req), path, codec)
        .await
    {
        Ok(r) => r.into_inner(),
        Err(s) => return (Vec::new(), Err(s)),
    };
    let mut got = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(m)) => got.push(m.text),
            Ok(None) => break,
            Err(s) => return (got, Err(s)),
        }
    }
    let trailers = stream.trailers().await.map(|t| t.unwrap_or_default());
    (got, trailers)
}
