//! `#[derive(Module)]` for gradjit (use it as `gradjit::Module`).
//!
//! The derive implements `gradjit::Module` for a struct:
//! - `name()` returns the struct's field of type `ModuleName` (or the field marked
//!   `#[module(name)]`), which holds the instance's unique name;
//! - `visit_fields()` shows each other field, in declaration order, to the visitor if its type
//!   implements `gradjit::module::Collect` (variables, modules and containers of them); other
//!   fields are skipped. The choice is made by the compiler, per field type (see
//!   `gradjit::module::__private`), so type aliases and generic containers work. Fields marked
//!   `#[module(skip)]` are never shown.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{parse_macro_input, Data, DeriveInput, Error, Field, Index, Type};

/// Implements `gradjit::Module`: see the crate documentation.
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input).unwrap_or_else(Error::into_compile_error).into()
}

/// What `#[module(..)]` says about a field.
#[derive(Default)]
struct FieldAttrs {
    skip: bool,
    name: bool,
}

impl FieldAttrs {
    fn parse(field: &Field) -> syn::Result<FieldAttrs> {
        let mut attrs = FieldAttrs::default();
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("module")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("skip") {
                    attrs.skip = true;
                } else if meta.path.is_ident("name") {
                    attrs.name = true;
                } else {
                    return Err(meta.error("expected `skip` or `name`"));
                }
                Ok(())
            })?;
        }
        if attrs.skip && attrs.name {
            return Err(Error::new_spanned(field, "a field cannot be both `#[module(skip)]` and `#[module(name)]`"));
        }
        Ok(attrs)
    }
}

/// True for the type `ModuleName` (by any path).
fn is_module_name(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            p.path.segments.last().is_some_and(|s| s.ident == "ModuleName" && s.arguments.is_none())
        }
        _ => false,
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let Data::Struct(data) = &input.data else {
        return Err(Error::new_spanned(&input.ident, "#[derive(Module)] supports structs only"));
    };
    let mut marked_name = None;
    let mut typed_names = Vec::new();
    let mut visits = Vec::new();
    for (i, field) in data.fields.iter().enumerate() {
        let (member, label) = match &field.ident {
            Some(ident) => (ident.to_token_stream(), ident.unraw().to_string()),
            None => (Index::from(i).to_token_stream(), i.to_string()),
        };
        let attrs = FieldAttrs::parse(field)?;
        if attrs.name {
            if marked_name.is_some() {
                return Err(Error::new_spanned(field, "only one field can be `#[module(name)]`"));
            }
            marked_name = Some(member);
        } else if attrs.skip {
            continue;
        } else if is_module_name(&field.ty) {
            typed_names.push((member, field));
        } else {
            visits.push(quote_spanned! { field.ty.span() =>
                (&__private::Probe(&self.#member)).__collect(&FieldPath::field(#label), __visitor);
            });
        }
    }
    let name = match (marked_name, typed_names.as_slice()) {
        (Some(member), _) => member,
        (None, [(member, _)]) => member.clone(),
        (None, []) => {
            return Err(Error::new_spanned(
                &input.ident,
                "#[derive(Module)] needs a field of type `ModuleName` holding the instance's unique name \
                 (e.g. `name: ModuleName`, set to `ModuleName::of::<Self>()`)",
            ))
        }
        (None, [_, (_, second), ..]) => {
            return Err(Error::new_spanned(
                second,
                "several fields have type `ModuleName`: mark the instance's own name with `#[module(name)]`",
            ))
        }
    };

    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::gradjit::Module for #ident #ty_generics #where_clause {
            fn name(&self) -> &::gradjit::ModuleName {
                &self.#name
            }

            fn visit_fields<'__gradjit>(&'__gradjit self, __visitor: &mut dyn ::gradjit::module::Visitor<'__gradjit>) {
                #[allow(unused_imports)]
                use ::gradjit::module::{__private::{self, ViaCollect as _, ViaNothing as _}, FieldPath};
                #(#visits)*
            }
        }
    })
}
