module authlog/test/idplogin

go 1.22
