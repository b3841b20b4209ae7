//! Resources that answer 405 problem+json with an `Allow` header for the
//! methods they do not have (actix's default is an empty 405).

use actix_web::{web, Resource};

use crate::error::AppError;

pub struct ResourceBuilder {
    resource: Resource,
    allow: Vec<&'static str>,
}

pub fn resource(path: &str) -> ResourceBuilder {
    ResourceBuilder {
        resource: web::resource(path),
        allow: Vec::new(),
    }
}

macro_rules! method {
    ($name:ident, $route:ident, $label:literal) => {
        pub fn $name<F, Args>(mut self, handler: F) -> Self
        where
            F: actix_web::Handler<Args>,
            Args: actix_web::FromRequest + 'static,
            F::Output: actix_web::Responder + 'static,
        {
            self.resource = self.resource.route(web::$route().to(handler));
            self.allow.push($label);
            self
        }
    };
}

impl ResourceBuilder {
    method!(get, get, "GET");
    method!(post, post, "POST");
    method!(patch, patch, "PATCH");
    method!(delete, delete, "DELETE");

    pub fn build(self) -> Resource {
        let allow = self.allow.join(", ");
        self.resource.default_service(web::to(move || {
            let allow = allow.clone();
            async move { Err::<actix_web::HttpResponse, _>(AppError::MethodNotAllowed { allow }) }
        }))
    }
}
