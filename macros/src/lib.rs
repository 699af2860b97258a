//! `#[pgharness::test]`: a test that gets a fresh database at a version of
//! the crate's migration chain. Use it through the `pgharness` crate; see
//! `pgharness::testing` for what it does at run time.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, FnArg, ItemFn, Lit, LitStr, Meta, Token};

/// Marks a test that gets a fresh database of the crate's migration chain.
///
/// ```ignore
/// #[pgharness::test]
/// async fn at_head(pool: sqlx::PgPool) { /* ... */ }
///
/// #[pgharness::test(at = "0005", fixtures("users", "goals"))]
/// async fn before_0006(mut conn: sqlx::PgConnection) -> anyhow::Result<()> { Ok(()) }
///
/// #[pgharness::test(migrations = "db/migrations")]
/// fn sync_test(db: pgharness::testing::TestDatabase) { let _ = db.url(); }
/// ```
///
/// Options:
/// - `at = "<version>"`: the database is at that version of the chain
///   (default: head);
/// - `fixtures("name", ...)`: SQL files run in order after the database is
///   made: `"name"` is `fixtures/name.sql` beside the test's source file
///   (as `#[sqlx::test]` has it); a string ending in `.sql` is a path
///   relative to the test's source file;
/// - `config = "path"`: the `pgharness.toml` to use, relative to the crate
///   root (default: `pgharness.toml` when it exists, else the
///   `migrations` dir);
/// - `migrations = "dir"`: a chain dir relative to the crate root, with
///   default settings.
///
/// Parameters are built by their type (`pgharness::testing::TestArg`):
/// `PgPool`, `PgConnection`, `TestDatabase`. Async and plain `fn` tests
/// both work; a test may return `()` or a `Result`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, input: TokenStream) -> TokenStream {
    match expand(args.into(), input.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[derive(Default)]
struct Options {
    at: Option<LitStr>,
    config: Option<LitStr>,
    migrations: Option<LitStr>,
    fixtures: Vec<LitStr>,
}

fn string(expr: &Expr) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new(other.span(), "expected a string literal")),
    }
}

fn parse_options(args: proc_macro2::TokenStream) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut options = Options::default();
    for meta in metas {
        match &meta {
            Meta::NameValue(nv) if nv.path.is_ident("at") => {
                options.at = Some(string(&nv.value)?);
            }
            Meta::NameValue(nv) if nv.path.is_ident("config") => {
                options.config = Some(string(&nv.value)?);
            }
            Meta::NameValue(nv) if nv.path.is_ident("migrations") => {
                options.migrations = Some(string(&nv.value)?);
            }
            Meta::List(list) if list.path.is_ident("fixtures") => {
                let names = Punctuated::<LitStr, Token![,]>::parse_terminated
                    .parse2(list.tokens.clone())?;
                options.fixtures.extend(names);
            }
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "unknown option: expected `at = \"<version>\"`, `fixtures(\"name\", ...)`, `config = \"path\"` or `migrations = \"dir\"`",
                ))
            }
        }
    }
    if options.config.is_some() && options.migrations.is_some() {
        return Err(syn::Error::new(
            Span::call_site(),
            "give `config` or `migrations`, not both",
        ));
    }
    Ok(options)
}

fn option(value: &Option<LitStr>) -> proc_macro2::TokenStream {
    match value {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn expand(
    args: proc_macro2::TokenStream,
    input: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let options = parse_options(args)?;
    let function: ItemFn = syn::parse2(input)?;
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = &function;
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a test cannot be generic",
        ));
    }
    let name = &sig.ident;
    let output = &sig.output;
    let is_async = sig.asyncness.is_some();
    let mut types = Vec::new();
    let mut names = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else {
            return Err(syn::Error::new(input.span(), "a test takes no `self`"));
        };
        if matches!(*typed.ty, syn::Type::Reference(_)) {
            return Err(syn::Error::new(
                typed.ty.span(),
                "a test parameter is owned: `PgPool`, `PgConnection` or `TestDatabase` (take `mut conn: PgConnection` for a connection)",
            ));
        }
        types.push(typed.ty.clone());
        names.push(syn::Ident::new(
            &format!("__pgharness_arg{i}"),
            typed.span(),
        ));
    }
    let inputs = &sig.inputs;
    let at = option(&options.at);
    let config = option(&options.config);
    let migrations = option(&options.migrations);
    let fixtures = options.fixtures.iter().map(|f| {
        let path = if f.value().ends_with(".sql") {
            f.value()
        } else {
            format!("fixtures/{}.sql", f.value())
        };
        let path = LitStr::new(&path, f.span());
        quote_spanned!(f.span()=> (#path, ::core::include_str!(#path)))
    });
    let inner = if is_async {
        quote!(async fn __pgharness_test(#inputs) #output #block)
    } else {
        quote!(fn __pgharness_test(#inputs) #output #block)
    };
    let make_args = quote! {
        #(
            let #names = match <#types as ::pgharness::testing::TestArg>::from_database(&__db).await {
                ::core::result::Result::Ok(arg) => arg,
                ::core::result::Result::Err(e) => {
                    ::pgharness::testing::finish_test(&__SPEC, __db.clone(), false).await;
                    ::core::panic!("pgharness: could not make the test's {}: {}", ::core::stringify!(#types), e)
                }
            };
        )*
    };
    let run = if is_async {
        quote! {
            let __outcome = __runtime.block_on(async {
                #make_args
                ::pgharness::testing::run_caught(__pgharness_test(#(#names),*)).await
            });
        }
    } else {
        quote! {
            let (#(#names,)*) = __runtime.block_on(async {
                #make_args
                (#(#names,)*)
            });
            let __outcome = ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(
                move || __pgharness_test(#(#names),*),
            ));
        }
    };
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #name() #output {
            #inner
            static __SPEC: ::pgharness::testing::TestSpec = ::pgharness::testing::TestSpec {
                name: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
                config: #config,
                migrations: #migrations,
                at: #at,
                fixtures: &[#(#fixtures),*],
            };
            let __runtime = ::pgharness::__private::tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("pgharness::test: could not build a tokio runtime");
            let __db = match __runtime.block_on(::pgharness::testing::start_test(&__SPEC)) {
                ::core::result::Result::Ok(db) => db,
                ::core::result::Result::Err(e) => ::core::panic!("pgharness: {}", e),
            };
            #run
            let __passed = match &__outcome {
                ::core::result::Result::Ok(value) => ::pgharness::testing::TestOutcome::passed(value),
                ::core::result::Result::Err(_) => false,
            };
            __runtime.block_on(::pgharness::testing::finish_test(&__SPEC, __db, __passed));
            match __outcome {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(panic) => ::std::panic::resume_unwind(panic),
            }
        }
    })
}
